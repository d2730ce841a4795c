"""Transfers are checked as hostile input before the ledger looks at them; refusals round-trip."""

import pytest

from ledger_client import InsufficientFunds, InvalidTransfer, LedgerError, Transfer, TransferKind
from ledger_client.errors import REFUSALS, refusal
from ledger_client.types import Balance, check

GOOD = Transfer("t1", 1, 2, 100, "redeem")


@pytest.mark.parametrize("transfer, says", [
    (Transfer("", 1, 2, 1, "redeem"), "id"),
    (Transfer("has space", 1, 2, 1, "redeem"), "id"),
    (Transfer("x" * 65, 1, 2, 1, "redeem"), "id"),
    (Transfer("t", 1, 2, 0, "redeem"), "amount"),
    (Transfer("t", 1, 2, -5, "redeem"), "non-negative"),
    (Transfer("t", 1, 2, True, "redeem"), "integers"),
    (Transfer("t", 1, 2, 1.5, "redeem"), "integers"),
    (Transfer("t", 1, 2, 2**63, "redeem"), "integers"),
    (Transfer("t", 1, 1, 1, "redeem"), "differ"),
    (Transfer("t", 0, 2, 1, "redeem"), "required"),
    (Transfer("t", 1, 2, 1, "re deem"), "code"),
    (Transfer("t", 1, 2, 1, "redeem", ledger="Points!"), "ledger"),
    (Transfer("t", 1, 2, 1, "redeem", kind="maybe"), "kind"),
    (Transfer("t", 1, 2, 1, "redeem", timeout=60), "timeout"),
    (Transfer.hold("t", 1, 2, 1, "redeem", timeout=0), "timeout"),
    (Transfer("t", 0, 0, 0, "post", kind=TransferKind.POST), "pending_id"),
    (Transfer("t", 1, 2, 1, "redeem", pending_id="h"), "pending_id"),
])
def test_bad_transfers_say_what_is_wrong(transfer, says):
    with pytest.raises(InvalidTransfer) as refused:
        check(transfer)
    assert says in str(refused.value)


def test_good_transfers_pass_and_kinds_become_enums():
    assert check(GOOD) is GOOD
    assert check(Transfer("t", 1, 2, 1, "x", kind="pending", timeout=5)).kind is TransferKind.PENDING
    assert check(Transfer.post_hold("p", "h")).resolves_hold
    assert check(Transfer("t", 1, 2, 1, "x", ledger="KES")).ledger == "KES"


def test_every_refusal_rebuilds_from_its_code_and_details():
    for code, kind in REFUSALS.items():
        original = kind(*range(len(kind.fields)))
        again = refusal(code, original.details)
        assert type(again) is kind and again.details == original.details
    assert isinstance(refusal("from_a_newer_server", {}), LedgerError)
    assert refusal("insufficient_funds", {"account_id": 3, "amount": 5}).account_id == 3
    assert isinstance(refusal("insufficient_funds", {}), InsufficientFunds)


def test_available_is_posted_less_what_is_held():
    assert Balance(1, posted=1000, on_hold=300, incoming=50).available == 700


from hypothesis import given, settings, strategies as st  # noqa: E402

from ledger_client import wire  # noqa: E402

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=80),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                max_size=4),
    max_leaves=12)
_KEYS = st.sampled_from(["id", "debit_account_id", "credit_account_id", "amount", "code",
                         "ledger", "kind", "pending_id", "timeout", "reference", "extra"])


@settings(max_examples=300, deadline=None)
@given(st.one_of(_JSON, st.dictionaries(_KEYS, _JSON, max_size=10)))
def test_any_json_is_a_transfer_or_a_clear_refusal(value):
    try:
        transfer = wire.transfer_from_json(value)
    except (wire.BadBody, InvalidTransfer) as refused:
        assert str(refused)
    else:
        assert check(transfer) == transfer
        assert wire.transfer_from_json(wire.transfer_to_json(transfer)) == transfer


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_are_json_or_bad_body(body):
    try:
        wire.loads(body)
    except wire.BadBody:
        pass
