"""Importing agents from an operator's CSV file: every row checked, all or nothing.

Start at `import_agents()`. Operators keep their agent lists in spreadsheets; a file of a few hundred
rows is typed by hand and always has mistakes. Importing the good rows and dropping the bad would
leave shops without their sub-agents and the operator guessing what went in, so the file is checked
as a whole and the answer is either every agent in it, or every problem in it by line number and
nothing imported.

The file: a header row naming the columns (any order, case and spaces forgiven), then one agent per
row. Columns: code, msisdn, name, location, level, parent, and optionally status (default active).
`parent` may name an agent earlier or later in the file, or one already in the network. The rules are
network.py's; this module turns the text into `Agent` values and points each problem at its line.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from agents.network import Agent, Level, Status, agent_problems, problems

__all__ = ["COLUMNS", "ImportResult", "RowError", "import_agents"]

COLUMNS = ("code", "msisdn", "name", "location", "level", "parent", "status")
_REQUIRED = COLUMNS[:6]
_LEVEL_WORDS = {
    "shop": Level.SHOP, "sub_agent": Level.SUB_AGENT, "subagent": Level.SUB_AGENT, "sub": Level.SUB_AGENT,
    "master": Level.MASTER, "master_agent": Level.MASTER,
}


@dataclass(frozen=True)
class RowError:
    line: int            # 1 is the header; a row spanning lines (a quoted newline) is its first line
    column: str | None   # None: the row as a whole
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.column + ': ' if self.column else ''}{self.message}"


@dataclass(frozen=True)
class ImportResult:
    """Either the agents to add, in file order, or the problems, by line; never both."""

    agents: tuple[Agent, ...] = ()
    errors: tuple[RowError, ...] = ()

    def __post_init__(self) -> None:
        if self.agents and self.errors:
            raise ValueError("an import is all or nothing")

    @property
    def ok(self) -> bool:
        return not self.errors


class _Unreadable(Exception):
    def __init__(self, error: RowError):
        self.error = error


def import_agents(data: str | bytes, normalize_msisdn: Callable[[str], str | None],
                  existing: Mapping[str, Agent] | None = None) -> ImportResult:
    """Check a CSV file of new agents against itself and the `existing` network.

    `normalize_msisdn` turns a number as the operator wrote it into E.164 digits, or None when it is
    not a phone number (the gateway passes its numbering plan's).
    """
    existing = existing or {}
    try:
        rows, errors = _rows(data)
    except _Unreadable as unreadable:
        return ImportResult(errors=(unreadable.error,))
    lines_of: dict[str, int] = {}   # every code the file names (valid rows or not), its first line
    parsed: dict[str, tuple[int, Agent]] = {}
    for line, row in rows:
        code = row["code"].strip().upper()
        if code in existing:
            errors.append(RowError(line, "code", f"{code} already exists (use move or suspend to change it)"))
        elif code in lines_of:
            errors.append(RowError(line, "code", f"{code} is also on line {lines_of[code]}"))
        elif code:
            lines_of[code] = line
        agent, row_errors = _agent(line, row, code, normalize_msisdn)
        errors += row_errors
        if agent is not None and not row_errors and lines_of.get(code) == line:
            parsed[code] = (line, agent)
    errors += _network_errors(existing, parsed, lines_of)
    checked = {line for line, _ in parsed.values()}
    for line, row in rows:  # a row with errors of its own still learns that its parent is unknown
        parent = row["parent"].strip().upper()
        if line not in checked and parent and parent not in existing and parent not in lines_of:
            errors.append(RowError(line, "parent", f"no agent {parent}"))
    if errors:
        return ImportResult(errors=tuple(sorted(errors, key=lambda e: e.line)))
    return ImportResult(agents=tuple(agent for _, agent in parsed.values()))


def _rows(data: str | bytes) -> tuple[list[tuple[int, dict[str, str]]], list[RowError]]:
    """(first line, {column: cell}) for each non-blank row, and the rows of the wrong length; or
    _Unreadable for a file that is not CSV text with our header."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            line = data.count(b"\n", 0, err.start) + 1
            raise _Unreadable(RowError(line, None, "not UTF-8 text (save the file as CSV UTF-8)")) from None
    reader = csv.reader(io.StringIO(data.removeprefix("\ufeff"), newline=""))
    try:
        header = [name.strip().lower().replace(" ", "_").replace("-", "_") for name in next(reader, [])]
        _check_header(header)
        rows, errors, line = [], [], reader.line_num + 1
        for cells in reader:
            if len(cells) != len(header) and any(cell.strip() for cell in cells):
                errors.append(RowError(line, None, f"{len(cells)} cells where the header has {len(header)}"))
            elif any(cell.strip() for cell in cells):
                rows.append((line, dict(zip(header, cells))))
            line = reader.line_num + 1
    except csv.Error as err:
        raise _Unreadable(RowError(reader.line_num, None, f"not readable as CSV ({err})")) from None
    return rows, errors


def _check_header(header: list[str]) -> None:
    if not any(header):
        raise _Unreadable(RowError(1, None, "no header row (expected: " + ",".join(COLUMNS) + ")"))
    for name in header:
        if name not in COLUMNS:
            raise _Unreadable(RowError(1, name or None, "unknown column (the columns are "
                                                        + ", ".join(COLUMNS) + ")"))
        if header.count(name) > 1:
            raise _Unreadable(RowError(1, name, "column named twice"))
    missing = [name for name in _REQUIRED if name not in header]
    if missing:
        raise _Unreadable(RowError(1, None, "missing column(s): " + ", ".join(missing)))


def _agent(line: int, row: dict[str, str], code: str,
           normalize_msisdn: Callable[[str], str | None]) -> tuple[Agent | None, list[RowError]]:
    """The row as an Agent, with every problem its own fields have."""
    errors = [RowError(line, name, "required") for name in ("code", "msisdn", "name", "location", "level")
              if not row[name].strip()]
    level = _LEVEL_WORDS.get(row["level"].strip().lower().replace(" ", "_").replace("-", "_"))
    if level is None and row["level"].strip():
        errors.append(RowError(line, "level", f"expected shop, sub-agent or master, got {row['level']!r}"))
    status = {s.value: s for s in Status}.get(row.get("status", "").strip().lower() or "active")
    if status is None:
        errors.append(RowError(line, "status", "expected active, suspended or closed"))
    msisdn = normalize_msisdn(row["msisdn"].strip()) if row["msisdn"].strip() else None
    if msisdn is None and row["msisdn"].strip():
        errors.append(RowError(line, "msisdn", "not a phone number"))
    if errors:
        return None, errors
    agent = Agent(code=code, msisdn=msisdn, name=row["name"].strip(), location=row["location"].strip(),
                  level=level, parent=row["parent"].strip().upper() or None, status=status)
    return agent, [RowError(line, problem.field, problem.message) for problem in agent_problems(agent)]


def _network_errors(existing: Mapping[str, Agent], parsed: dict[str, tuple[int, Agent]],
                    lines_of: dict[str, int]) -> list[RowError]:
    """Parents and shared numbers, with the file's agents added after the network's."""
    network = {**existing, **{code: agent for code, (_, agent) in parsed.items()}}
    errors = []
    for problem in problems(network):
        if problem.code not in parsed:
            continue  # the network's own, not this file's
        line, agent = parsed[problem.code]
        message = problem.message
        if problem.field == "parent" and agent.parent not in network and agent.parent in lines_of:
            message = f"{agent.parent} is on line {lines_of[agent.parent]}, which has errors"
        errors.append(RowError(line, problem.field, message))
    return errors
