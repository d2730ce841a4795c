"""The ledger's number limits on SQLite and PostgreSQL, embedded and over HTTP.

An account id no account can have (above PostgreSQL's INTEGER, zero, negative) is
`UnknownAccount` for every call, never the database's "out of range"; a posting that would take
a running total past 2^63-1 is `TotalTooLarge`, where PostgreSQL would fail the statement and
SQLite would quietly store a float.  Each refusal leaves the caller's transaction usable.

The books stay audited (ledger_fixtures.books): the audit sums each total over a ledger, which
SQLite cannot do past 2^63-1 either, so no test posts more than that in all.
"""

from __future__ import annotations

import json

import pytest
import treq
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from twisted.internet import defer, reactor
from twisted.trial import unittest

from ledger_client import (
    AccountKind, EmbeddedLedger, HttpLedger, InvalidTransfer, Transfer, UnknownAccount,
)
from ledger_client.errors import TotalTooLarge
from ledger_client.testing import ServedLedger
from ledger_client.types import MAX_ACCOUNT_ID, MAX_AMOUNT
import ledger_fixtures
from ledger_fixtures import Books, ScratchDatabase

books = ledger_fixtures.books       # the fixture: a ledger on each database, audited after

IMPOSSIBLE = [MAX_ACCOUNT_ID + 1, 2**40, 2**63, 2**64, 0, -1]


def _funder(books: Books, name: str) -> int:
    """Another account that may go negative, so each test chooses which total fills up."""
    with books.engine.begin() as conn:
        return books.ledger.open_account(conn, AccountKind.OPERATOR, name, no_overdraft=False)


def _usable(conn) -> None:
    assert conn.execute(text("SELECT 1")).scalar() == 1


@pytest.mark.parametrize("account_id", IMPOSSIBLE)
def test_every_lookup_of_an_impossible_id_is_unknown_and_the_transaction_goes_on(
        books: Books, account_id):
    jane = books.member("jane", 100)
    ledger = books.ledger
    with books.engine.begin() as conn:
        ledger.post(conn, [Transfer("before", jane, books.revenue, 10, "redeem")])
        for call in (ledger.balance, ledger.account, ledger.history, ledger.close_account):
            with pytest.raises(UnknownAccount) as refused:
                call(conn, account_id)
            assert refused.value.account_id == account_id
            _usable(conn)
        ledger.post(conn, [Transfer("after", jane, books.revenue, 10, "redeem")])
    assert books.balance(jane).available == 80


@pytest.mark.parametrize("account_id", [MAX_ACCOUNT_ID + 1, 2**40, 2**64])
def test_posting_to_an_impossible_id_is_unknown_alone_and_in_a_batch(books: Books, account_id):
    jane = books.member("jane", 100)
    with books.engine.begin() as conn:
        for batch in ([Transfer("t1", jane, account_id, 5, "redeem")],
                      [Transfer("t2", books.issuer, jane, 5, "bonus"),
                       Transfer("t3", account_id, jane, 5, "bonus")],
                      [Transfer.hold("t4", jane, account_id, 5, "redeem", timeout=60)]):
            with pytest.raises(UnknownAccount) as refused:
                books.ledger.post(conn, batch)
            assert refused.value.account_id == account_id
            _usable(conn)
        books.ledger.post(conn, [Transfer("ok", jane, books.revenue, 10, "redeem")])
    assert books.balance(jane).available == 90
    assert books.journal_size() == 2        # jane's opening and "ok"


def test_a_credit_past_bigint_is_refused_and_up_to_it_is_taken(books: Books):
    jane = books.member("jane")
    other = _funder(books, "other")
    books.post(Transfer("fill", books.issuer, jane, MAX_AMOUNT - 5, "issue"))
    with books.engine.begin() as conn:
        for batch in ([Transfer("over", other, jane, 10, "bonus")],                 # one
                      [Transfer("fine", other, books.revenue, 1, "bonus"),          # a batch
                       Transfer("over2", other, jane, 6, "bonus")]):
            with pytest.raises(TotalTooLarge) as refused:
                books.ledger.post(conn, batch)
            assert (refused.value.account_id, refused.value.transfer_id) == (
                jane, batch[-1].id)
            _usable(conn)
        books.ledger.post(conn, [Transfer("exact", other, jane, 5, "bonus")])
    balance = books.balance(jane)
    assert type(balance.posted) is int and balance.posted == MAX_AMOUNT      # never a float
    assert books.balance(books.revenue).posted == 0                          # all or nothing


def test_a_debit_past_bigint_is_refused(books: Books):
    jane = books.member("jane")
    books.post(Transfer("fill", books.issuer, jane, MAX_AMOUNT - 1, "issue"))
    with pytest.raises(TotalTooLarge) as refused:
        books.post(Transfer("over", books.issuer, books.revenue, 2, "issue"))
    assert refused.value.account_id == books.issuer
    assert books.balance(books.issuer).posted == -(MAX_AMOUNT - 1)


def test_a_hold_past_bigint_is_refused_and_the_books_are_unchanged(books: Books):
    first, second = _funder(books, "first"), _funder(books, "second")
    books.post(Transfer.hold("h", first, books.revenue, MAX_AMOUNT - 3, "bonus", timeout=600))
    with pytest.raises(TotalTooLarge) as refused:        # revenue's credits_pending
        books.post(Transfer.hold("h2", second, books.revenue, 4, "bonus", timeout=600))
    assert refused.value.account_id == books.revenue
    assert books.balance(books.revenue).incoming == MAX_AMOUNT - 3
    assert books.balance(second).on_hold == 0
    [voided] = books.post(Transfer.void_hold("v", "h"))
    assert voided.created and books.balance(books.revenue).incoming == 0


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_any_other_database_error_is_still_sqlalchemys_and_keeps_the_callers_work(
        books: Books):
    """A statement the database fails (a constraint of the test's own) raises SQLAlchemy's
    error and leaves the caller's transaction usable; an out-of-range account id used to be
    the way to make it fail, but the ledger now refuses those first."""
    jane = books.member("jane", 100)
    with books.engine.begin() as conn:
        conn.execute(text("ALTER TABLE ledger_transfers ADD CONSTRAINT test_no_boom "
                          "CHECK (code <> 'boom')"))
        books.ledger.post(conn, [Transfer("ok", jane, books.revenue, 10, "redeem")])
        for transfers in ([Transfer("b", jane, books.revenue, 1, "boom")],
                          [Transfer("b1", jane, books.revenue, 1, "redeem"),
                           Transfer("b2", jane, books.revenue, 1, "boom")]):
            with pytest.raises(DBAPIError):
                books.ledger.post(conn, transfers)
            _usable(conn)
        conn.execute(text("ALTER TABLE ledger_transfers DROP CONSTRAINT test_no_boom"))
    assert books.balance(jane).available == 90


class LimitsOverHttp(ScratchDatabase):
    """The same refusals from `jifen ledger serve`, with its usual error body, raised by the
    client as the same types."""

    timeout = 60

    @defer.inlineCallbacks
    def setUp(self):
        self.open_database()
        self.service = ServedLedger(EmbeddedLedger(), self.db.run, reactor)
        self.service.start()
        self.addCleanup(self.service.stop)
        self.client = HttpLedger(self.service.url, reactor, timeout=5.0, attempts=1)
        self.addCleanup(self.client.close)
        self.issuer = yield self.client.open_account(AccountKind.OPERATOR, "issuer",
                                                     no_overdraft=False)
        self.jane = yield self.client.open_account(AccountKind.MEMBER, "254712345678")
        yield self.client.post([Transfer("fill", self.issuer, self.jane, MAX_AMOUNT - 5,
                                         "issue")])

    @defer.inlineCallbacks
    def request(self, method, path, body=None):
        response = yield treq.request(
            method, self.service.url + path, persistent=False,
            data=json.dumps(body).encode() if body is not None else None,
            headers={b"content-type": [b"application/json"]})
        content = yield treq.content(response)
        return response.code, json.loads(content)["error"]

    @defer.inlineCallbacks
    def test_impossible_account_ids_are_unknown_account(self):
        for path, account_id in ((f"/v1/accounts/{MAX_ACCOUNT_ID + 1}", MAX_ACCOUNT_ID + 1),
                                 (f"/v1/accounts/{2**64}/history", 2**64),
                                 ("/v1/accounts/0", 0), ("/v1/accounts/-7", -7)):
            status, error = yield self.request("GET", path)
            self.assertEqual((status, error["code"], error["details"]),
                             (404, "unknown_account", {"account_id": account_id}), path)
        body = {"transfers": [{"id": "t", "debit_account_id": self.jane, "amount": 1,
                               "credit_account_id": MAX_ACCOUNT_ID + 1, "code": "redeem"}]}
        status, error = yield self.request("POST", "/v1/transfers", body)
        self.assertEqual((status, error["code"]), (404, "unknown_account"))
        failure = yield self.assertFailure(self.client.post(
            [Transfer("t", 2**40, self.jane, 1, "bonus")]), UnknownAccount)
        self.assertEqual(failure.account_id, 2**40)

    @defer.inlineCallbacks
    def test_amounts_and_totals_past_bigint_are_refused_as_their_own_types(self):
        yield self.assertFailure(self.client.post(
            [Transfer("big", self.issuer, self.jane, MAX_AMOUNT + 1, "bonus")]), InvalidTransfer)
        other = yield self.client.open_account(AccountKind.OPERATOR, "other",
                                               no_overdraft=False)
        failure = yield self.assertFailure(self.client.post(
            [Transfer("over", other, self.jane, 6, "bonus")]), TotalTooLarge)
        self.assertEqual((failure.account_id, failure.transfer_id), (self.jane, "over"))
        balance = yield self.client.balance(self.jane)
        self.assertEqual(balance.posted, MAX_AMOUNT - 5)


class LimitsOverHttpOnSQLite(LimitsOverHttp, unittest.TestCase):
    pass


@pytest.mark.postgres
class LimitsOverHttpOnPostgreSQL(LimitsOverHttp, unittest.TestCase):
    database = "postgresql"
