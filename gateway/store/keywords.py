"""The operator's runtime keyword changes: stored, checked, audited, and merged over the file.

Start at `add` and `remove` (what `jifen keywords add | remove` call) and `effective_table` (what a
running gateway reloads). A change is checked by building the whole table it would produce, with
the same validation as the file, so the rules live in one place (commands/table.py): a change that
would make one keyword mean two commands, or take a STOP, START, YES or NO word, is `Refused`
with the table's own explanation, and nothing is written.

Each change, in one transaction: bump `keyword_version` (which serialises concurrent changes and
tells running gateways to reload), write or delete the override row, append to the audit trail.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, desc, insert, select, update

from gateway.commands.table import KeywordTable
from gateway.commands.tokens import fold, key
from gateway.store.tables_keywords import keyword_changes, keyword_overrides, keyword_version


class Refused(Exception):
    """The change cannot be made; `str()` is the one line to show the operator."""


@dataclass(frozen=True)
class Override:
    command: str
    language: str
    keyword: str
    action: str  # "add" or "remove"
    first: bool  # an added keyword shown in replies, ahead of the file's


def current_version(conn) -> int:
    return conn.execute(select(keyword_version.c.version).where(keyword_version.c.id == 1)).scalar() or 0


def overrides(conn) -> list[Override]:
    rows = conn.execute(select(keyword_overrides).order_by(keyword_overrides.c.id)).all()
    return [Override(r.command, r.language, r.keyword, r.action, r.first) for r in rows]


def effective_table(conn, base: KeywordTable) -> KeywordTable:
    """The file's table with the stored changes applied. ValueError if they no longer fit it."""
    return _build(base, overrides(conn))


def merged(mapping: Mapping[str, Any], changes: Sequence[Override]) -> dict[str, Any]:
    """`KeywordTable.mapping()` with `changes` applied; changes to unknown commands are skipped."""
    commands = {name: dict(entry) for name, entry in mapping["commands"].items()}
    for change in changes:
        entry = commands.get(change.command)
        if entry is None:
            continue  # the command left the file since: nothing to change
        listed = [kw for kw in entry.get(change.language, []) if key(kw) != key(change.keyword)]
        if change.action == "add":
            listed.insert(0 if change.first else len(listed), change.keyword)
        if listed:
            entry[change.language] = listed
        else:
            entry.pop(change.language, None)
    return {"commands": commands}


def add(conn, base: KeywordTable, command: str, language: str, keyword: str, *,
        by: str, now: datetime, first: bool = False) -> KeywordTable:
    """Make `keyword` mean `command` in `language` (shown in replies if `first`)."""
    keyword = _checked(base, command, language, keyword)
    _bump(conn, now)
    row = _row(conn, command, language, keyword)
    in_file = _in(base, command, language, keyword)
    present = row.action == "add" if row is not None else in_file is not None
    if present and not first:
        raise Refused(f"{keyword!r} already means {command} in {language}")
    if row is not None and row.action == "remove" and not first:
        change = None  # taking back a removal: the file's keyword is back where it was
    else:
        change = Override(command, language, keyword, "add", first)
    return _apply(conn, base, row, change, by, now, "add first" if first else "add")


def remove(conn, base: KeywordTable, command: str, language: str, keyword: str, *,
           by: str, now: datetime) -> KeywordTable:
    """Stop `keyword` meaning `command` in `language`, whether it came from the file or a change."""
    keyword = _checked(base, command, language, keyword)
    _bump(conn, now)
    row = _row(conn, command, language, keyword)
    in_file = _in(base, command, language, keyword)
    present = row.action == "add" if row is not None else in_file is not None
    if not present:
        raise Refused(f"{keyword!r} is not a keyword of {command} in {language}")
    change = Override(command, language, in_file, "remove", False) if in_file else None
    return _apply(conn, base, row, change, by, now, "remove")


def history(conn, limit: int = 50) -> list:
    """The latest changes, newest first."""
    return conn.execute(select(keyword_changes).order_by(desc(keyword_changes.c.id)).limit(limit)).all()


def _checked(base: KeywordTable, command: str, language: str, keyword: str) -> str:
    if command not in base.commands:
        raise Refused(f"no command {command!r}; the commands are {', '.join(base.commands)}")
    if language not in base.languages:
        # A typo here ("BAL SAL en") would otherwise invent a language no
        # member speaks and leave the intended keyword unknown.
        raise Refused(f"{language[:20]!r} is not one of the languages of the keywords file "
                      f"({', '.join(base.languages)})")
    folded = fold(keyword)
    if not folded:
        raise Refused("a keyword cannot be empty")
    return folded


def _in(base: KeywordTable, command: str, language: str, keyword: str) -> str | None:
    """The file's spelling of `keyword` for `command` in `language`, if the file has it."""
    return next((kw for kw in base.keywords(command, language) if key(kw) == key(keyword)), None)


def _bump(conn, now: datetime) -> None:
    # First statement of the change: it takes the row lock that queues a concurrent change.
    bumped = conn.execute(update(keyword_version).where(keyword_version.c.id == 1)
                          .values(version=keyword_version.c.version + 1, changed_at=now))
    if bumped.rowcount == 0:
        conn.execute(insert(keyword_version).values(id=1, version=1, changed_at=now))


def _row(conn, command: str, language: str, keyword: str):
    return conn.execute(select(keyword_overrides).where(
        keyword_overrides.c.command == command, keyword_overrides.c.language == language,
        keyword_overrides.c.keyword_key == key(keyword))).first()


def _apply(conn, base: KeywordTable, row, change: Override | None, by: str, now: datetime,
           action: str) -> KeywordTable:
    """Check the table `change` (replacing `row`) would give; write both and the audit row."""
    others = [o for o in overrides(conn) if row is None or (o.command, o.language, key(o.keyword))
              != (row.command, row.language, row.keyword_key)]
    table = _build(base, others + ([change] if change else []), refuse=True)
    if row is not None:
        conn.execute(delete(keyword_overrides).where(keyword_overrides.c.id == row.id))
    if change is not None:
        conn.execute(insert(keyword_overrides).values(
            command=change.command, language=change.language, keyword=change.keyword,
            keyword_key=key(change.keyword), action=change.action, first=change.first,
            created_at=now, created_by=by[:64]))
    subject = change or row
    conn.execute(insert(keyword_changes).values(
        changed_at=now, changed_by=by[:64], action=action, command=subject.command,
        language=subject.language, keyword=subject.keyword))
    return table


def _build(base: KeywordTable, changes: Sequence[Override], refuse: bool = False) -> KeywordTable:
    source = f"{base.source} with database changes"
    data = merged(base.mapping(), changes)
    for name, entry in data["commands"].items():
        if refuse and not set(entry) - {"args"}:
            raise Refused(f"{name} would have no keyword left; add another one first")
    try:
        return KeywordTable.from_mapping(data, source)
    except ValueError as error:
        if refuse:
            raise Refused(str(error).removeprefix(f"{source}: ")) from None
        raise
