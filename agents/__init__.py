"""The village shop agent network, as pure rules: no database, no Twisted, no gateway imports.

What the gateway may use; it imports these names from `agents`, never from the modules behind them:
- the hierarchy, `Agent` values and the rules a network keeps (`network.py`): `problems`, `added`,
  `moved`, `with_status`, `chain`;
- `import_agents`: a CSV file of agents, all rows checked, all or nothing (`csv_import.py`);
- commission plans, versioned, and `compute` for one redemption (`commission.py`);
- risk limits and `check` for one RDM (`risk.py`);
- the monthly report (`reports.py`) and the member as an agent may see them (`masking.py`).
Config files (config/commissions.toml, config/agents.toml) load with `load_plans` and `load_limits`;
a bad one raises `AgentConfigError`, one line naming the file and the key.
"""

from agents._toml import AgentConfigError
from agents.commission import (
    CommissionResult, FixedFee, PercentRate, Plan, PlanBook, UnknownCategory, UnknownPlan, compute,
    load_plans, plans_from_toml,
)
from agents.csv_import import ImportResult, RowError, import_agents
from agents.masking import mask_member, mask_name, mask_number
from agents.network import (
    Agent, Level, NetworkError, Problem, Status, added, chain, children, moved, problems, with_status,
)
from agents.reports import MonthReport, RedemptionLine, month_report, render_csv, render_table
from agents.risk import (
    Allowed, Counters, PinState, RedemptionRequest, RefusalReason, Refused, RiskLimits, check,
    limits_from_toml, load_limits, pin_failed, pin_succeeded,
)

__all__ = [
    # network
    "Agent", "Level", "NetworkError", "Problem", "Status", "added", "chain", "children", "moved",
    "problems", "with_status",
    # csv import
    "ImportResult", "RowError", "import_agents",
    # commission
    "CommissionResult", "FixedFee", "PercentRate", "Plan", "PlanBook", "UnknownCategory", "UnknownPlan",
    "compute", "load_plans", "plans_from_toml",
    # risk
    "Allowed", "Counters", "PinState", "RedemptionRequest", "RefusalReason", "Refused", "RiskLimits",
    "check", "limits_from_toml", "load_limits", "pin_failed", "pin_succeeded",
    # reports and masking
    "MonthReport", "RedemptionLine", "month_report", "render_csv", "render_table",
    "mask_member", "mask_name", "mask_number",
    # config
    "AgentConfigError",
]
