"""The ledger batches of one assisted redemption, with ids derived from its reference.

Every transfer id is ``<namespace>:ardm:<reference>:<what>``, so posting a batch again (a retry,
a redelivered YES, a second sweep) returns the first result and moves nothing twice.

- the hold: the member's points held for the operator's redemptions account, expiring;
- approval, one batch, all or nothing: the hold posted; each agent in the chain paid its share
  from the operator's commission account; the shop's settlement for the goods recorded in the
  currency ledger;
- reversal (REV, or a dispute upheld): each of those undone by a transfer the other way.
  Commission and settlement accounts may go below zero, so a claw-back never fails because an
  agent was already paid out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from ledger_client import POINTS, AccountKind, EmbeddedLedger, Transfer

REVENUE = (str(AccountKind.OPERATOR), "redemptions")
COMMISSIONS = (str(AccountKind.OPERATOR), "agent_commissions")
SETTLEMENTS = (str(AccountKind.OPERATOR), "shop_settlements")


@dataclass(frozen=True)
class Accounts:
    """Opens (once) and names the accounts of one redemption's batches."""

    ledger: EmbeddedLedger
    conn: Connection
    currency: str

    def operator(self, which: tuple[str, str], ledger: str = POINTS) -> int:
        return self.ledger.open_account(self.conn, *which, ledger=ledger, no_overdraft=False)

    def commission(self, code: str) -> int:
        return self.ledger.open_account(self.conn, str(AccountKind.AGENT_COMMISSION), code,
                                        no_overdraft=False)

    def settlement(self, code: str) -> int:
        return self.ledger.open_account(self.conn, str(AccountKind.SHOP_SETTLEMENT), code,
                                        ledger=self.currency, no_overdraft=False)


def transfer_id(namespace: str, reference: str, what: str) -> str:
    return f"{namespace}:ardm:{reference}:{what}"


def hold(namespace: str, reference: str, member_account: int, accounts: Accounts, points: int,
         timeout: int) -> Transfer:
    return Transfer.hold(transfer_id(namespace, reference, "hold"), member_account,
                         accounts.operator(REVENUE), points, "agent_redeem", timeout=timeout,
                         reference=reference)


def void(namespace: str, reference: str) -> Transfer:
    return Transfer.void_hold(transfer_id(namespace, reference, "void"),
                              transfer_id(namespace, reference, "hold"), reference=reference)


def approval(namespace: str, reference: str, accounts: Accounts, shares: Mapping[str, int],
             shop: str, settlement: int) -> list[Transfer]:
    batch = [Transfer.post_hold(transfer_id(namespace, reference, "post"),
                                transfer_id(namespace, reference, "hold"), "agent_redeem",
                                reference=reference)]
    batch += [Transfer(transfer_id(namespace, reference, f"com:{code}"),
                       accounts.operator(COMMISSIONS), accounts.commission(code), points,
                       "commission", reference=reference)
              for code, points in shares.items() if points > 0]
    if settlement > 0:
        batch.append(Transfer(transfer_id(namespace, reference, "settle"),
                              accounts.operator(SETTLEMENTS, accounts.currency),
                              accounts.settlement(shop), settlement, "settlement",
                              ledger=accounts.currency, reference=reference))
    return batch


def reversal(namespace: str, reference: str, accounts: Accounts, member_account: int, points: int,
             shares: Mapping[str, int], shop: str, settlement: int) -> list[Transfer]:
    batch = [Transfer(transfer_id(namespace, reference, "rev"), accounts.operator(REVENUE),
                      member_account, points, "agent_reverse", reference=reference)]
    batch += [Transfer(transfer_id(namespace, reference, f"claw:{code}"),
                       accounts.commission(code), accounts.operator(COMMISSIONS), amount,
                       "clawback", reference=reference)
              for code, amount in shares.items() if amount > 0]
    if settlement > 0:
        batch.append(Transfer(transfer_id(namespace, reference, "unsettle"),
                              accounts.settlement(shop),
                              accounts.operator(SETTLEMENTS, accounts.currency), settlement,
                              "settlement_back", ledger=accounts.currency, reference=reference))
    return batch
