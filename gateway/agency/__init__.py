"""Assisted redemption at village shops, over the database and the ledger.

- `network.py`: the `agents` table as `agents.Agent` values, and the operator's changes to it
  (add, suspend, move, import), each checked by agents/ before it is written;
- `service.py`: `AgencyService`, what the agent commands (RDM, YES/NO, AGBAL, SALES, REV,
  DISPUTE) do, inside the MO's transaction, and the sweep of unanswered redemptions;
- `postings.py`: the ledger batches of one redemption (hold, approval, void, reversal);
- `queued.py`: `AgencyPostings`, what follows each batch's answer from the central ledger;
- `agent_pins.py`: AGPIN, an agent setting or changing its own PIN;
- `sweeper.py`: `AgencySweeper`, the sweep on the daemon's clock;
- `report.py`: the month's redemptions as `agents.RedemptionLine`s for `jifen report agents`.
"""

from gateway.agency.network import load_network
from gateway.agency.service import AgencyService, AgencySettings
from gateway.agency.sweeper import AgencySweeper

__all__ = ["AgencyService", "AgencySettings", "AgencySweeper", "load_network"]
