"""PINs and codes leave no trace in the database or the logs, yet redeliveries are still found.

Over loopback TCP against the simulator, on SQLite and PostgreSQL: a member sets and changes a
PIN and redeems with it (one PIN sent as a long message in parts), a shop agent sends RDM with
its PIN, the member confirms with YES and the code. Then no inbox row, part or reply, and no log
line of ours, holds a secret; the inbox keeps the messages with each secret as ****.
"""

from __future__ import annotations

import re

import pytest
import structlog
from sqlalchemy import select
from twisted.internet import defer, task
from twisted.trial import unittest

from agent_fixtures import GOODS, SHOP, load_sample_network
from gateway import catalog
from gateway.store.models import inbox, outbox
from gateway.store.tables_mo import mo_parts
from mo_harness import MEMBER, SHORT_CODE, LoopbackCase

FIRST_PIN, NEW_PIN, AGENT_PIN = "4826", "7391", "8153"


class RedactionCases(LoopbackCase):

    def setUp(self):
        started = super().setUp()
        return started.addCallback(lambda _: self._seed())

    def _seed(self):
        with self.gateway.engine.begin() as conn:
            for item in GOODS:
                catalog.add(conn, item, self.gateway.now())
            assert load_sample_network(conn, self.gateway.now()).ok

    @defer.inlineCallbacks
    def exchange(self, phone: str, text: str, replies: int = 1):
        before = len(self.simulator.submitted)
        yield self.simulator.deliver(phone, SHORT_CODE, text)
        submitted = yield self.simulator.wait_for_submits(before + replies)
        return [mt.text for mt in submitted[before:]]

    def stored(self) -> str:
        return repr([self.rows(select(inbox.c.text)), self.rows(select(mo_parts)),
                     self.rows(select(outbox.c.text))])

    @defer.inlineCallbacks
    def test_no_pin_or_code_is_kept_in_the_database_or_the_logs(self):
        with structlog.testing.capture_logs() as logged:
            yield self.exchange(MEMBER, f"PIN {FIRST_PIN}")
            statuses = yield self.simulator.deliver_concatenated(
                MEMBER, SHORT_CODE, ["PIN ", f"{FIRST_PIN} ", NEW_PIN])
            self.assertEqual(len(statuses), 3)
            yield self.simulator.wait_for_submits(2)
            yield self.exchange(MEMBER, f"REDEEM AIR50 1 {NEW_PIN}")
            asked = yield self.exchange(SHOP, f"RDM 0712345678 RICE5 2 {AGENT_PIN}", replies=2)
            code = re.search(r"YES (\d{4})", " ".join(asked)).group(1)
            yield self.exchange(MEMBER, f"YES {code}", replies=2)
            yield self.settled()
        stored = self.stored()
        for secret in (FIRST_PIN, NEW_PIN, AGENT_PIN):
            self.assertNotIn(secret, stored)
        ours = repr([e for e in logged if not e["event"].startswith("simulator.")])
        for secret in (FIRST_PIN, NEW_PIN, AGENT_PIN, code):
            self.assertIsNone(re.search(rf"\b{secret}\b", ours), secret)
        texts = [text for text, in self.rows(select(inbox.c.text).order_by(inbox.c.id))]
        self.assertEqual(texts, ["PIN ****", "PIN **** ****", "REDEEM AIR50 1 ****",
                                 "RDM 0712345678 RICE5 2 ****", "YES ****"])
        self.assertEqual({body for _, body in self.rows(select(mo_parts.c.id, mo_parts.c.body))},
                         {b""})

    @defer.inlineCallbacks
    def test_a_redelivered_pin_change_is_still_a_redelivery(self):
        yield self.exchange(MEMBER, f"PIN {FIRST_PIN}")
        clock = self.simulator.clock = task.Clock()
        self.simulator.redeliver_after = 30.0
        self.simulator.lose_deliver_responses(1)
        delivered = self.simulator.deliver(MEMBER, SHORT_CODE, f"PIN {FIRST_PIN} {NEW_PIN}")
        yield self.simulator.wait_for_submits(2)
        yield self.settled()                # run, and masked, before the redelivery comes
        clock.advance(30)
        yield delivered
        submitted = yield self.simulator.wait_for_submits(3)
        yield self.settled()
        self.assertEqual([mt.text for mt in submitted[1:]], ["Jifen: your PIN is changed. "
                                                             "Keep it secret."] * 2)
        self.assertEqual(self.executed(), ["PIN", "PIN"])
        rows = self.rows(select(inbox.c.id, inbox.c.duplicate_of, inbox.c.text).order_by(inbox.c.id))
        self.assertEqual([(dup, text) for _, dup, text in rows[1:]],
                         [(None, "PIN **** ****"), (rows[1][0], "PIN **** ****")])

    @defer.inlineCallbacks
    def test_two_different_pin_changes_are_two_commands(self):
        yield self.exchange(MEMBER, "PIN 1111")
        yield self.exchange(MEMBER, "PIN 1111 2222")
        yield self.exchange(MEMBER, "PIN 3333 4444")
        yield self.settled()
        self.assertEqual(self.executed(), ["PIN", "PIN", "PIN"])
        duplicates = self.rows(select(inbox.c.duplicate_of).where(inbox.c.duplicate_of.is_not(None)))
        self.assertEqual(duplicates, [])


class RedactionOnSQLite(RedactionCases, unittest.TestCase):
    pass


@pytest.mark.postgres
class RedactionOnPostgreSQL(RedactionCases, unittest.TestCase):
    database = "postgresql"
