"""Member self-redemption beneath the SMS commands: what CAT, REDEEM, HIST and PIN call.

- `RedemptionService` (service.py): ``redeem``, ``settle``, ``reverse``, ``history``;
- `Pins` (pins.py): set, change and verify a member's PIN, with the lock-out;
- `Refusal` / `Refused` (refusals.py): why something was refused, for the reply;
- postings.py: the durable queue of ledger postings that `gateway.ledger_poster` drains;
- codes.py: references (R8K2P) and voucher codes; notices.py: the SMS sent later.
"""

from gateway.redeem.pins import PinState, Pins
from gateway.redeem.refusals import Refusal, Refused
from gateway.redeem.service import Redemption, RedemptionService, State

__all__ = ["PinState", "Pins", "Redemption", "RedemptionService", "Refusal", "Refused", "State"]
