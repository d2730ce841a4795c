"""The JSON shapes of the ledger's values, both ways, for the HTTP service and its client.

Reading is strict, because the service reads bodies from the network: an object must have
exactly the keys its shape names (a misspelt key is an error, not a silently missing field),
and the values' types are checked by `types.check`.  docs/ledger-api.md shows every shape.
"""

from __future__ import annotations

import json
from datetime import datetime

from ledger_client.errors import InvalidTransfer
from ledger_client.types import (
    Account, Balance, HoldState, Movement, Transfer, TransferKind, TransferResult, check,
)

_TRANSFER_KEYS = ("id", "debit_account_id", "credit_account_id", "amount", "code", "ledger",
                  "kind", "pending_id", "timeout", "reference")
_REQUIRED = frozenset(("id", "code"))


class BadBody(ValueError):
    """A request body that is not what the API takes; the message says why."""


def loads(body: bytes) -> object:
    """JSON, refusing what Python's json would let through but JSON does not allow."""
    def no_constants(name):
        raise BadBody(f"{name} is not a JSON number")
    try:
        return json.loads(body.decode("utf-8"), parse_constant=no_constants)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, ValueError) as error:
        if isinstance(error, BadBody):
            raise
        raise BadBody(f"not a JSON document ({type(error).__name__})") from None


def dumps(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def object_with(value: object, keys: tuple[str, ...], required: frozenset, what: str) -> dict:
    if not isinstance(value, dict):
        raise BadBody(f"{what} must be a JSON object")
    unknown = sorted(set(value) - set(keys))
    if unknown:
        raise BadBody(f"{what}: unknown key {unknown[0]!r}")
    missing = sorted(required - set(value))
    if missing:
        raise BadBody(f"{what}: missing key {missing[0]!r}")
    return value


def transfer_to_json(transfer: Transfer) -> dict:
    return {key: getattr(transfer, key) for key in _TRANSFER_KEYS if key != "kind"} | {
        "kind": str(transfer.kind)}


def transfer_from_json(value: object) -> Transfer:
    """A checked `Transfer`; `BadBody` or `InvalidTransfer` if it is not one."""
    fields = object_with(value, _TRANSFER_KEYS, _REQUIRED, "a transfer")
    defaults = dict(debit_account_id=0, credit_account_id=0, amount=0, ledger="points",
                    kind=TransferKind.SINGLE.value, pending_id=None, timeout=None,
                    reference=None)
    transfer = Transfer(**(defaults | fields))
    try:
        return check(transfer)
    except InvalidTransfer:
        raise
    except (TypeError, ValueError) as error:       # e.g. an unhashable id
        raise InvalidTransfer(str(fields.get("id"))[:64], str(error)) from None


def result_to_json(result: TransferResult) -> dict:
    return {"transfer": transfer_to_json(result.transfer),
            "timestamp": result.timestamp.isoformat(), "created": result.created}


def result_from_json(value: dict) -> TransferResult:
    return TransferResult(transfer_from_json(value["transfer"]),
                          datetime.fromisoformat(value["timestamp"]), bool(value["created"]))


def account_to_json(account: Account, balance: Balance) -> dict:
    return {"id": account.id, "ledger": account.ledger, "kind": account.kind,
            "reference": account.reference, "no_overdraft": account.no_overdraft,
            "closed": account.closed, "posted": balance.posted, "on_hold": balance.on_hold,
            "incoming": balance.incoming, "available": balance.available}


def balance_from_json(value: dict) -> Balance:
    return Balance(value["id"], value["posted"], value["on_hold"], value["incoming"])


def movement_to_json(movement: Movement) -> dict:
    return {"transfer_id": movement.transfer_id, "timestamp": movement.timestamp.isoformat(),
            "amount": movement.amount, "code": movement.code, "kind": str(movement.kind),
            "reference": movement.reference, "other_account_id": movement.other_account_id,
            "hold_state": movement.hold_state and str(movement.hold_state)}


def movement_from_json(value: dict) -> Movement:
    return Movement(value["transfer_id"], datetime.fromisoformat(value["timestamp"]),
                    value["amount"], value["code"], TransferKind(value["kind"]),
                    value["reference"], value["other_account_id"],
                    HoldState(value["hold_state"]) if value["hold_state"] else None)
