"""The ledger's number limits, as plain values: account ids no account can have, amounts past
BIGINT, and batches whose totals could not be stored are refused before any database is asked
(these tests give the ledger no connection at all), with the refusal the HTTP side sends."""

from datetime import datetime, timezone

import pytest
from twisted.python.failure import Failure

from ledger_client import HttpLedger, InvalidTransfer, Transfer, UnknownAccount, posting
from ledger_client.errors import TotalTooLarge, refusal
from ledger_client.server import LedgerResource
from ledger_client.types import MAX_ACCOUNT_ID, MAX_AMOUNT, check, checked_account_id

NOW = datetime(2026, 3, 1, tzinfo=timezone.utc)
OUT_OF_RANGE = [0, -1, MAX_ACCOUNT_ID + 1, 2**40, 2**63, 2**64, True, "5", 5.0, None]


@pytest.mark.parametrize("account_id", OUT_OF_RANGE)
def test_an_id_no_account_can_have_is_unknown(account_id):
    with pytest.raises(UnknownAccount) as refused:
        checked_account_id(account_id)
    assert refused.value.account_id == account_id


@pytest.mark.parametrize("account_id", [1, 12345, MAX_ACCOUNT_ID])
def test_ids_an_account_may_have_pass(account_id):
    assert checked_account_id(account_id) == account_id


def test_an_amount_past_bigint_is_an_invalid_transfer_and_bigint_itself_is_not():
    with pytest.raises(InvalidTransfer) as refused:
        check(Transfer("t", 1, 2, MAX_AMOUNT + 1, "issue"))
    assert str(MAX_AMOUNT) in refused.value.reason
    assert check(Transfer("t", 1, 2, MAX_AMOUNT, "issue")).amount == MAX_AMOUNT


@pytest.mark.parametrize("transfer, unknown", [
    (Transfer("t", 1, MAX_ACCOUNT_ID + 1, 5, "issue"), MAX_ACCOUNT_ID + 1),
    (Transfer("t", 2**64, 1, 5, "issue"), 2**64),
    (Transfer.hold("t", 2**40, 1, 5, "redeem", timeout=60), 2**40),
    (Transfer("t", 2**40, 0, 0, "post", kind="post", pending_id="h"), 2**40),
])
def test_posting_to_an_id_no_account_can_have_is_unknown_before_the_database(transfer, unknown):
    with pytest.raises(UnknownAccount) as refused:
        posting.post_batch(None, [Transfer("ok", 1, 2, 5, "issue"), transfer], NOW,
                           savepoint=False)
    assert refused.value.account_id == unknown


def test_a_batch_moving_more_than_bigint_through_one_account_is_refused_before_the_database():
    big = [Transfer("a", 1, 3, MAX_AMOUNT, "issue"), Transfer("b", 2, 3, MAX_AMOUNT, "issue")]
    with pytest.raises(TotalTooLarge) as refused:
        posting.post_batch(None, big, NOW, savepoint=False)
    assert (refused.value.account_id, refused.value.transfer_id) == (3, "b")
    # Out and back in again nets to nothing, but the dip on the way is past BIGINT too.
    holds = [Transfer.hold("h1", 3, 4, MAX_AMOUNT, "redeem", timeout=60),
             Transfer.hold("h2", 3, 5, MAX_AMOUNT, "redeem", timeout=60)]
    with pytest.raises(TotalTooLarge) as refused:
        posting.post_batch(None, holds, NOW, savepoint=False)
    assert refused.value.account_id == 3


def test_the_accounts_update_keeps_every_total_within_bigint_without_overflowing_itself():
    from ledger_client import statements

    sql = statements._sqlite_apply(2).text
    for name in statements.TOTALS:
        # delta <= MAX - total: a total is never negative, so neither side can overflow.
        assert f"v.{name} <= {MAX_AMOUNT} - ledger_accounts.{name}" in sql


def test_the_service_answers_the_limits_with_the_usual_error_body():
    for error, status in ((UnknownAccount(2**40), 404), (TotalTooLarge(7, "t9"), 422),
                          (InvalidTransfer("t", "amount"), 400)):
        got, body = LedgerResource._failure(Failure(error))
        assert (got, body["error"]["code"]) == (status, error.code)
        again = refusal(body["error"]["code"], body["error"]["details"])
        assert type(again) is type(error) and again.details == error.details


class _NoRequests:
    def request(self, *args, **kwargs):
        raise AssertionError("an id no account can have was sent to the service")


@pytest.mark.parametrize("account_id", [0, -3, MAX_ACCOUNT_ID + 1, "12"])
def test_the_http_client_refuses_an_impossible_id_as_the_service_would(account_id):
    client = HttpLedger("http://127.0.0.1:1", reactor=None, client=_NoRequests())
    for call in (client.balance(account_id), client.history(account_id)):
        failures = []
        call.addErrback(failures.append)
        assert failures and failures[0].check(UnknownAccount)
