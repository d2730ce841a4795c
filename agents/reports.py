"""The monthly agents report: what each agent, and each level, served and earned in one month.

Start at `month_report()`; `render_table()` and `render_csv()` print it. Pure: the database layer
hands in the month's redemptions (those that stand: confirmed and not reversed) with the commission
shares each recorded, and the level of every agent named in them.

Per agent: the redemptions it served, their points and the settlement it is owed for the goods it
handed over, and the commission it earned, from its own redemptions and from those of the agents
under it. Per level: the sums over its agents. The total's commission is the sum of every pool.
Commission is in points; settlement in the minor units of the currency shops are paid in.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from agents.network import Level

__all__ = ["AgentTotals", "MonthReport", "RedemptionLine", "Totals", "month_report", "render_csv",
           "render_table"]

_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
_COLUMNS = ("redemptions", "points", "commission", "settlement")


@dataclass(frozen=True, kw_only=True)
class RedemptionLine:
    reference: str
    day: datetime.date                                 # when the member confirmed it
    agent_code: str                                    # the agent who served it
    points: int
    settlement: int                                    # owed to that agent for the goods
    commission: Mapping[str, int] = field(hash=False)  # agent code -> points (CommissionResult.shares)


@dataclass(frozen=True)
class Totals:
    redemptions: int = 0
    points: int = 0
    commission: int = 0
    settlement: int = 0

    def __add__(self, other: Totals) -> Totals:
        return Totals(*(getattr(self, name) + getattr(other, name) for name in _COLUMNS))


@dataclass(frozen=True)
class AgentTotals:
    code: str
    level: Level
    totals: Totals


@dataclass(frozen=True)
class MonthReport:
    month: str                                # "2026-11"
    agents: tuple[AgentTotals, ...]           # masters first, then sub-agents, then shops; by code
    levels: tuple[tuple[Level, Totals], ...]  # every level, masters first
    total: Totals


def month_report(lines: Iterable[RedemptionLine], levels: Mapping[str, Level], month: str) -> MonthReport:
    """Aggregate the redemptions confirmed in `month` ("2026-11"); lines from other months are left out."""
    year, number = _parse_month(month)
    per_agent: dict[str, Totals] = {}
    total = Totals()
    for line in lines:
        if (line.day.year, line.day.month) != (year, number):
            continue
        served = Totals(1, line.points, 0, line.settlement)
        per_agent[line.agent_code] = per_agent.get(line.agent_code, Totals()) + served
        for code, points in line.commission.items():
            per_agent[code] = per_agent.get(code, Totals()) + Totals(commission=points)
        total += Totals(1, line.points, sum(line.commission.values()), line.settlement)
    unknown = sorted(code for code in per_agent if code not in levels)
    if unknown:
        raise ValueError("no level for agent(s) " + ", ".join(unknown))
    agents = tuple(sorted((AgentTotals(code, levels[code], totals) for code, totals in per_agent.items()),
                          key=lambda row: (-row.level.rank, row.code)))
    by_level = tuple((level, sum((row.totals for row in agents if row.level is level), Totals()))
                     for level in reversed(Level))
    return MonthReport(month, agents, by_level, total)


def _parse_month(month: str) -> tuple[int, int]:
    found = _MONTH.fullmatch(month.strip())
    if not found or not 1 <= int(found[2]) <= 12:
        raise ValueError(f"expected a month such as 2026-11, got {month!r}")
    return int(found[1]), int(found[2])


def _rows(report: MonthReport) -> list[tuple[str, str, str, Totals]]:
    """(scope, agent, level, totals) for every line of the report, in print order."""
    rows = [("agent", row.code, _level_name(row.level), row.totals) for row in report.agents]
    rows += [("level", "", _level_name(level), totals) for level, totals in report.levels]
    return rows + [("total", "", "", report.total)]


def _level_name(level: Level) -> str:
    return level.value.replace("_", "-")


def render_table(report: MonthReport) -> str:
    """An aligned text table for a terminal: agents, then each level, then the total."""
    header = ("agent", "level", *_COLUMNS)
    body = [(agent or ("all" if scope != "agent" else ""), level or "all",
             *(f"{getattr(totals, name):,}" for name in _COLUMNS))
            for scope, agent, level, totals in _rows(report)]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        text = [cell.ljust(width) if i < 2 else cell.rjust(width)
                for i, (cell, width) in enumerate(zip(cells, widths))]
        return "  ".join(text).rstrip()

    rule = "-" * len(line(header))
    split = len(report.agents)
    return "\n".join([f"Agents report {report.month}", line(header), rule,
                      *map(line, body[:split]), rule, *map(line, body[split:])]) + "\n"


def render_csv(report: MonthReport) -> str:
    """The same figures as CSV, plain integers, one `scope` column saying agent, level or total."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("month", "scope", "agent", "level", *_COLUMNS))
    for scope, agent, level, totals in _rows(report):
        writer.writerow((report.month, scope, agent, level, *(getattr(totals, name) for name in _COLUMNS)))
    return out.getvalue()
