"""The monthly agents report: totals per agent and per level that add up, as a table and as CSV."""

import csv
import datetime
import io

import pytest

from agents import Level, RedemptionLine, compute, month_report, render_csv, render_table
from agents.commission import PercentRate, Plan

LEVELS = {"M1": Level.MASTER, "S10": Level.SUB_AGENT, "A1023": Level.SHOP, "A2000": Level.SHOP}
NOV = datetime.date(2026, 11, 1)


def line(ref, agent, points, settlement, commission, day=NOV):
    return RedemptionLine(reference=ref, day=day, agent_code=agent, points=points, settlement=settlement,
                          commission=commission)


LINES = [
    line("R1", "A1023", 1_000, 72_000, {"A1023": 19, "S10": 7, "M1": 4}),
    line("R2", "A1023", 2_500, 180_000, {"A1023": 45, "S10": 18, "M1": 11}, NOV.replace(day=30)),
    line("R3", "A2000", 500, 36_000, {"A2000": 9, "M1": 6}),
    line("R4", "A2000", 9_999, 1, {"A2000": 999, "M1": 999}, datetime.date(2026, 10, 31)),   # October
    line("R5", "A1023", 9_999, 1, {"A1023": 999, "S10": 9, "M1": 9}, datetime.date(2026, 12, 1)),  # December
]


def test_totals_per_agent_per_level_and_overall():
    report = month_report(LINES, LEVELS, "2026-11")
    assert [(row.code, row.level, tuple(vars(row.totals).values())) for row in report.agents] == [
        ("M1", Level.MASTER, (0, 0, 4 + 11 + 6, 0)),
        ("S10", Level.SUB_AGENT, (0, 0, 7 + 18, 0)),
        ("A1023", Level.SHOP, (2, 3_500, 19 + 45, 252_000)),
        ("A2000", Level.SHOP, (1, 500, 9, 36_000)),
    ]
    assert [(level, tuple(vars(t).values())) for level, t in report.levels] == [
        (Level.MASTER, (0, 0, 21, 0)), (Level.SUB_AGENT, (0, 0, 25, 0)),
        (Level.SHOP, (3, 4_000, 73, 288_000))]
    assert tuple(vars(report.total).values()) == (3, 4_000, 21 + 25 + 73, 288_000)


def test_the_commission_total_is_the_sum_of_the_pools():
    plan = Plan(version="v1", effective_from=NOV, categories={"groceries": PercentRate(317)},
                split_bp={Level.SHOP: 6000, Level.SUB_AGENT: 2500, Level.MASTER: 1500})
    chain = [type("Link", (), {"code": code, "level": LEVELS[code]}) for code in ("A1023", "S10", "M1")]
    results = [compute(plan, "groceries", value, 0, chain, member_points_today=0)
               for value in range(1, 400, 7)]
    report = month_report([line(f"R{i}", "A1023", 1, 0, r.shares) for i, r in enumerate(results)], LEVELS,
                          "2026-11")
    assert report.total.commission == sum(r.pool for r in results)
    assert report.total.commission == sum(totals.commission for _, totals in report.levels)


def test_an_empty_month_still_has_every_level_and_a_total():
    report = month_report(LINES, LEVELS, "2027-01")
    assert report.agents == () and report.total.redemptions == 0 and len(report.levels) == 3


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "November", "", "2026-00"])
def test_a_bad_month_is_refused_clearly(month):
    with pytest.raises(ValueError, match="expected a month such as 2026-11"):
        month_report(LINES, LEVELS, month)


def test_an_agent_without_a_level_is_named():
    with pytest.raises(ValueError, match="no level for agent.s. A2000"):
        month_report(LINES, {k: v for k, v in LEVELS.items() if k != "A2000"}, "2026-11")


def test_the_table_is_aligned():
    assert render_table(month_report(LINES, LEVELS, "2026-11")) == """\
Agents report 2026-11
agent  level      redemptions  points  commission  settlement
-------------------------------------------------------------
M1     master               0       0          21           0
S10    sub-agent            0       0          25           0
A1023  shop                 2   3,500          64     252,000
A2000  shop                 1     500           9      36,000
-------------------------------------------------------------
all    master               0       0          21           0
all    sub-agent            0       0          25           0
all    shop                 3   4,000          73     288,000
all    all                  3   4,000         119     288,000
"""


def test_the_csv_has_the_same_figures_as_plain_integers():
    rows = list(csv.DictReader(io.StringIO(render_csv(month_report(LINES, LEVELS, "2026-11")))))
    assert rows[2] == {"month": "2026-11", "scope": "agent", "agent": "A1023", "level": "shop",
                       "redemptions": "2", "points": "3500", "commission": "64", "settlement": "252000"}
    assert [r["scope"] for r in rows] == ["agent"] * 4 + ["level"] * 3 + ["total"]
    assert rows[-1]["commission"] == "119" and rows[-1]["settlement"] == "288000"
