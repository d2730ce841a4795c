"""The ledger batches of one assisted redemption, with ids derived from its reference.

Every transfer id is ``<namespace>:ardm:<reference>:<what>``, so posting a batch again (a retry,
a redelivered YES, a second sweep, the queue sending it twice) returns the first result and
moves nothing twice.

- the hold: the member's points held for the operator's redemptions account, expiring;
- approval, one batch, all or nothing: the hold posted; each agent in the chain paid its share
  from the operator's commission account; the shop's settlement for the goods recorded in the
  currency ledger;
- reversal (REV, or a dispute upheld): each of those undone by a transfer the other way.
  Commission and settlement accounts may go below zero, so a claw-back never fails because an
  agent was already paid out.

Accounts are named by (kind, reference), as in the durable queue (gateway/redeem/postings.py):
with the embedded ledger `redeem.postings.post_now` opens them and posts inside the caller's
transaction; with the central ledger the same batch is queued for the `LedgerPoster`.
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.redeem.postings import Planned
from ledger_client import AccountKind, TransferKind

# The purposes of the queued batches (ledger_postings.purpose); queued.py settles each.
HOLD, APPROVAL, VOID, REVERSAL = "agent_hold", "agent_post", "agent_void", "agent_rev"
PURPOSES = (HOLD, APPROVAL, VOID, REVERSAL)

REVENUE = (str(AccountKind.OPERATOR), "redemptions")
COMMISSIONS = (str(AccountKind.OPERATOR), "agent_commissions")
SETTLEMENTS = (str(AccountKind.OPERATOR), "shop_settlements")


def transfer_id(namespace: str, reference: str, what: str) -> str:
    return f"{namespace}:ardm:{reference}:{what}"


def _member(msisdn: str) -> tuple[str, str]:
    return (str(AccountKind.MEMBER), msisdn)


def _commission(code: str) -> tuple[str, str]:
    return (str(AccountKind.AGENT_COMMISSION), code)


def _settlement(code: str) -> tuple[str, str]:
    return (str(AccountKind.SHOP_SETTLEMENT), code)


def hold(namespace: str, reference: str, member_msisdn: str, points: int,
         timeout: int) -> Planned:
    return Planned(transfer_id(namespace, reference, "hold"), _member(member_msisdn), REVENUE,
                   points, "agent_redeem", reference, kind=TransferKind.PENDING.value,
                   timeout=timeout)


def void(namespace: str, reference: str) -> Planned:
    return Planned(transfer_id(namespace, reference, "void"), None, None, 0, "void", reference,
                   kind=TransferKind.VOID.value,
                   pending_id=transfer_id(namespace, reference, "hold"))


def approval(namespace: str, reference: str, shares: Mapping[str, int], shop: str,
             settlement: int, currency: str) -> list[Planned]:
    batch = [Planned(transfer_id(namespace, reference, "post"), None, None, 0, "agent_redeem",
                     reference, kind=TransferKind.POST.value,
                     pending_id=transfer_id(namespace, reference, "hold"))]
    batch += [Planned(transfer_id(namespace, reference, f"com:{code}"), COMMISSIONS,
                      _commission(code), points, "commission", reference)
              for code, points in shares.items() if points > 0]
    if settlement > 0:
        batch.append(Planned(transfer_id(namespace, reference, "settle"), SETTLEMENTS,
                             _settlement(shop), settlement, "settlement", reference,
                             ledger=currency))
    return batch


def reversal(namespace: str, reference: str, member_msisdn: str, points: int,
             shares: Mapping[str, int], shop: str, settlement: int,
             currency: str) -> list[Planned]:
    batch = [Planned(transfer_id(namespace, reference, "rev"), REVENUE, _member(member_msisdn),
                     points, "agent_reverse", reference)]
    batch += [Planned(transfer_id(namespace, reference, f"claw:{code}"), _commission(code),
                      COMMISSIONS, amount, "clawback", reference)
              for code, amount in shares.items() if amount > 0]
    if settlement > 0:
        batch.append(Planned(transfer_id(namespace, reference, "unsettle"), _settlement(shop),
                             SETTLEMENTS, settlement, "settlement_back", reference,
                             ledger=currency))
    return batch
