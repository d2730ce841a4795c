"""The `Ledger` interface, written once, against the embedded ledger on threads and against
`jifen ledger serve`'s resource over loopback TCP; then what only HTTP has: hostile bodies,
and a service that goes away in the middle of a run."""

from __future__ import annotations

import json

import pytest
import treq
from twisted.internet import defer, reactor, task
from twisted.trial import unittest

from ledger_client import (
    AccountKind, EmbeddedLedger, HoldNotPending, HttpLedger, IdReused, InsufficientFunds, Ledger,
    LedgerUnavailable, ThreadedLedger, Transfer, UnknownAccount,
)
from ledger_client.server import MAX_BODY
from ledger_client.testing import ServedLedger
from ledger_fixtures import ScratchDatabase, until


class LedgerContract(ScratchDatabase):
    timeout = 60

    @defer.inlineCallbacks
    def setUp(self):
        self.open_database()
        self.embedded = EmbeddedLedger()
        self.ledger = self.make_ledger()
        self.issuer = yield self.ledger.open_account(AccountKind.OPERATOR, "issuer",
                                                     no_overdraft=False)
        self.revenue = yield self.ledger.open_account(AccountKind.OPERATOR, "redemptions")
        self.jane = yield self.ledger.open_account(AccountKind.MEMBER, "254712345678")
        yield self.ledger.post([Transfer("open:jane", self.issuer, self.jane, 1000, "issue")])

    def make_ledger(self):
        return ThreadedLedger(self.embedded, self.db.run)

    def test_it_is_a_ledger(self):
        self.assertIsInstance(self.ledger, Ledger)

    @defer.inlineCallbacks
    def test_opening_an_account_twice_is_the_same_account(self):
        again = yield self.ledger.open_account(AccountKind.MEMBER, "254712345678")
        self.assertEqual(again, self.jane)
        balance = yield self.ledger.balance(self.jane)
        self.assertEqual((balance.available, balance.on_hold), (1000, 0))

    @defer.inlineCallbacks
    def test_a_posting_resent_returns_its_first_result(self):
        transfer = Transfer("r1", self.jane, self.revenue, 300, "redeem", reference="R8K2P")
        [first] = yield self.ledger.post([transfer])
        [again] = yield self.ledger.post([transfer])
        self.assertTrue(first.created)
        self.assertFalse(again.created)
        self.assertEqual((again.transfer, again.timestamp), (first.transfer, first.timestamp))
        balance = yield self.ledger.balance(self.jane)
        self.assertEqual(balance.available, 700)

    @defer.inlineCallbacks
    def test_refusals_arrive_as_their_own_types(self):
        failure = yield self.assertFailure(self.ledger.post(
            [Transfer("big", self.jane, self.revenue, 5000, "redeem")]), InsufficientFunds)
        self.assertEqual((failure.account_id, failure.amount), (self.jane, 5000))
        yield self.ledger.post([Transfer("r1", self.jane, self.revenue, 1, "redeem")])
        yield self.assertFailure(self.ledger.post(
            [Transfer("r1", self.jane, self.revenue, 2, "redeem")]), IdReused)
        yield self.assertFailure(self.ledger.balance(424242), UnknownAccount)

    @defer.inlineCallbacks
    def test_holds_post_once(self):
        yield self.ledger.post([Transfer.hold("h", self.jane, self.revenue, 400, "redeem",
                                              timeout=600)])
        balance = yield self.ledger.balance(self.jane)
        self.assertEqual((balance.available, balance.on_hold), (600, 400))
        [posted] = yield self.ledger.post([Transfer.post_hold("p", "h")])
        self.assertEqual(posted.transfer.amount, 400)
        failure = yield self.assertFailure(self.ledger.post([Transfer.void_hold("v", "h")]),
                                           HoldNotPending)
        self.assertEqual(failure.state, "posted")

    @defer.inlineCallbacks
    def test_history_newest_first(self):
        yield self.ledger.post([Transfer("r1", self.jane, self.revenue, 100, "redeem",
                                         reference="R8K2P")])
        lines = yield self.ledger.history(self.jane, limit=5)
        self.assertEqual({(m.transfer_id, m.amount) for m in lines},
                         {("r1", -100), ("open:jane", 1000)})


class ThreadedOnSQLite(LedgerContract, unittest.TestCase):
    pass


@pytest.mark.postgres
class ThreadedOnPostgreSQL(LedgerContract, unittest.TestCase):
    database = "postgresql"


class OverHttp(LedgerContract):
    def make_ledger(self):
        self.service = ServedLedger(self.embedded, self.db.run, reactor)
        self.service.start()
        self.addCleanup(self.service.stop)
        client = HttpLedger(self.service.url, reactor, timeout=2.0, attempts=30, backoff=0.02,
                            max_backoff=0.1)
        self.addCleanup(client.close)
        return client

    @defer.inlineCallbacks
    def request(self, method, path, body=b"", content_type=b"application/json"):
        response = yield treq.request(method, self.service.url + path, data=body or None,
                                      headers={b"content-type": [content_type]},
                                      persistent=False)
        content = yield treq.content(response)
        return response.code, json.loads(content)

    @defer.inlineCallbacks
    def test_hostile_bodies_get_clear_json_errors(self):
        good = {"id": "x1", "debit_account_id": self.jane, "credit_account_id": self.revenue,
                "amount": 5, "code": "redeem"}
        cases = [
            ("POST", "/v1/transfers", b"{not json", 400, "bad_request"),
            ("POST", "/v1/transfers", b'{"transfers": [NaN]}', 400, "bad_request"),
            ("POST", "/v1/transfers", b'{"transfers": []}', 400, "bad_request"),
            ("POST", "/v1/transfers", json.dumps({"transfers": [good], "extra": 1}).encode(),
             400, "bad_request"),
            ("POST", "/v1/transfers", json.dumps({"transfers": [good | {"amount": "5"}]}
                                                 ).encode(), 400, "invalid_transfer"),
            ("POST", "/v1/transfers", json.dumps({"transfers": [good | {"amont": 5}]}
                                                 ).encode(), 400, "bad_request"),
            ("POST", "/v1/transfers", b"x" * (MAX_BODY + 1), 413, "too_large"),
            ("POST", "/v1/accounts", b'{"kind": "wizard", "reference": "x"}', 400,
             "bad_request"),
            ("GET", "/v1/transfers", b"", 405, "method_not_allowed"),
            ("GET", "/v1/nothing", b"", 404, "not_found"),
            ("GET", "/v1/accounts/99999", b"", 404, "unknown_account"),
            ("GET", f"/v1/accounts/{self.jane}/history?limit=0", b"", 400, "bad_request"),
        ]
        for method, path, body, status, code in cases:
            got_status, got = yield self.request(method, path, body)
            self.assertEqual((got_status, got["error"]["code"]), (status, code), (path, body))
            self.assertTrue(got["error"]["message"])
        status, _ = yield self.request("POST", "/v1/transfers", b"{}", b"text/plain")
        self.assertEqual(status, 415)
        balance = yield self.ledger.balance(self.jane)
        self.assertEqual(balance.available, 1000)

    @defer.inlineCallbacks
    def test_postings_survive_the_service_going_away_and_post_once(self):
        posted = []

        @defer.inlineCallbacks
        def run():
            for i in range(30):
                [result] = yield self.ledger.post(
                    [Transfer(f"r{i}", self.jane, self.revenue, 10, "redeem")])
                posted.append(result)

        running = run()
        yield until(lambda: len(posted) >= 10)
        yield self.service.stop()
        yield task.deferLater(reactor, 0.3, lambda: None)      # down for a while
        self.assertLess(len(posted), 30)
        self.service.start()
        yield running
        self.assertEqual(len(posted), 30)
        balance = yield self.ledger.balance(self.jane)
        self.assertEqual(balance.available, 1000 - 30 * 10)

    @defer.inlineCallbacks
    def test_a_service_that_stays_away_is_unavailable_not_a_refusal(self):
        yield self.service.stop()
        client = HttpLedger(self.service.url, reactor, timeout=0.5, attempts=2, backoff=0.01)
        self.addCleanup(client.close)
        yield self.assertFailure(client.post([Transfer("r", self.jane, self.revenue, 1, "x")]),
                                 LedgerUnavailable)
        self.service.start()


class HttpOnSQLite(OverHttp, unittest.TestCase):
    pass


@pytest.mark.postgres
class HttpOnPostgreSQL(OverHttp, unittest.TestCase):
    database = "postgresql"

