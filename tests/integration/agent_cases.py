"""The agent exchange of DESIGN.md over SMPP through the simulator, written once for each database:
the shop's RDM, the member's prompt and YES, both receipts; and an RDM the SMSC delivers twice.
`AgentCentralLedgerCases`: the same with the central ledger, through the postings queue."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from twisted.internet import defer, reactor, task, threads

from agent_fixtures import GOODS, JANE, SHOP, load_sample_network
from gateway import catalog
from gateway.store.models import inbox, outbox
from gateway.store.tables_agents import agent_redemptions, agents
from gateway.testing import LoopbackGateway
from gateway_cases import scratch_url
from ledger_client import AccountKind, audit
from ledger_client.schema import accounts
from ledger_client.schema import transfers as journal
from ledger_fixtures import until
from test_member_flows_http import CentralLedgerGateway

AMINA = "254722000111"          # gateway.testing's sample member with 40 points


class AgentExchangeCases:
    database = "sqlite"
    timeout = 30

    @defer.inlineCallbacks
    def setUp(self):
        self.loop = LoopbackGateway(reactor, scratch_url(self))
        self.addCleanup(self.loop.stop)
        yield self.loop.start()
        yield threads.deferToThread(self._seed)

    def _seed(self):
        gateway = self.loop.gateway
        with gateway.engine.begin() as conn:
            for item in GOODS:
                catalog.add(conn, item, gateway.now())
            assert load_sample_network(conn, gateway.now()).ok

    def rows(self, query):
        with self.loop.gateway.engine.connect() as conn:
            return conn.execute(query).all()

    @defer.inlineCallbacks
    def mts(self, count: int, before: int):
        submitted = yield self.loop.simulator.wait_for_submits(before + count)
        return {mt.destination_addr: mt.text for mt in submitted[before:before + count]}

    @defer.inlineCallbacks
    def test_the_full_exchange(self):
        short_code = self.loop.short_code
        yield self.loop.simulator.deliver(SHOP, short_code, "RDM 0712345678 RICE5 2")
        asked = yield self.mts(2, 0)
        self.assertIn("0712***678 JANE W.", asked[SHOP])
        prompt = asked[JANE]
        self.assertIn("Shop Li (A1023) asks to redeem 2 x Rice 5kg for 1,000 pts.", prompt)
        self.assertIn("Never share your PIN.", prompt)
        code = re.search(r"YES (\d{4})", prompt).group(1)

        yield self.loop.simulator.deliver(JANE, short_code, f"YES {code}")
        done = yield self.mts(2, 2)
        reference = self.rows(select(agent_redemptions.c.reference))[0][0]
        self.assertEqual(done[SHOP], f"Jifen: Approved {reference}: hand over 2 x Rice 5kg. "
                                     "Commission 20 pts.")
        self.assertIn(f"Balance 350. Ref {reference}. Problem? Send DISPUTE {reference} within 24h.",
                      done[JANE])
        with self.loop.gateway.engine.connect() as conn:
            self.assertEqual(audit.problems(conn), [])
        self.assertNotIn(code, str(self.rows(select(agent_redemptions))))

    @defer.inlineCallbacks
    def test_an_rdm_delivered_twice_redeems_once(self):
        short_code = self.loop.short_code
        yield self.loop.simulator.deliver(SHOP, short_code, "RDM 0712345678 RICE5")
        yield self.mts(2, 0)
        yield self.loop.simulator.deliver(SHOP, short_code, "RDM 0712345678 RICE5")
        again = yield self.mts(1, 2)
        self.assertEqual(list(again), [SHOP])
        self.assertEqual(len(self.rows(select(agent_redemptions))), 1)

    @defer.inlineCallbacks
    def test_agpin_sets_the_pin_rdm_then_asks_for_and_the_inbox_never_keeps_it(self):
        short_code, before = self.loop.short_code, len(self.loop.simulator.submitted)
        replies = []
        for text in ("AGPIN 2468", "RDM 0712345678 RICE5", "AGPIN 2468 1357",
                     "RDM 0712345678 RICE5 1 1357"):
            yield self.loop.simulator.deliver(SHOP, short_code, text)
            sent = yield self.mts(1 if text.startswith("AGPIN") or "1357" not in text else 2,
                                  before)
            before += len(sent)
            replies.append(sent[SHOP])
        self.assertEqual(replies[:3], [
            "Jifen: your agent PIN is set. Add it at the end of every RDM. Never share it.",
            "Jifen: not done. Add your agent PIN at the end.",
            "Jifen: your agent PIN is changed. Never share it."])
        self.assertIn("asked 0712***678 JANE W.", replies[3])
        kept = [row.text for row in self.rows(select(inbox.c.text).order_by(inbox.c.id))]
        self.assertEqual(kept, ["AGPIN ****", "RDM 0712345678 RICE5", "AGPIN **** ****",
                                "RDM 0712345678 RICE5 1 ****"])
        stored = str(self.rows(select(outbox.c.text).where(outbox.c.destination_addr == SHOP)))
        stored += str(self.rows(select(agents.c.pin_hash)))      # the prompt's code is random
        self.assertFalse(any(pin in stored for pin in ("2468", "1357")))


class CentralLedgerShops(CentralLedgerGateway):
    """`CentralLedgerGateway` with the sample shops and goods (`AgentExchangeCases._seed`) and
    the members' points at the centre. No tests of its own: the cases below build on it."""

    central_points = {JANE: 1350, AMINA: 40}
    _seed = AgentExchangeCases._seed

    rows = AgentExchangeCases.rows

    @defer.inlineCallbacks
    def send(self, msisdn: str, text: str, *waits: tuple[str, int]):
        """Deliver ``text``; wait until each (phone, count) has had that many more MTs."""
        before = {phone: len(self.mts(phone)) for phone, _ in waits}
        yield self.loop.simulator.deliver(msisdn, self.loop.short_code, text)
        try:
            yield until(lambda: all(len(self.mts(phone)) >= before[phone] + count
                                    for phone, count in waits), attempts=3000)
        except AssertionError:
            raise AssertionError(f"after {text!r}: {[(p, self.mts(p)) for p, _ in waits]}") from None
        return {phone: self.mts(phone)[before[phone]:] for phone, _ in waits}

    def central_posted(self, kind: str, reference: str, ledger: str = "points") -> int:
        with self.central_engine.connect() as conn:
            row = conn.execute(select(accounts.c.credits_posted - accounts.c.debits_posted).where(
                accounts.c.kind == kind, accounts.c.reference == reference,
                accounts.c.ledger == ledger)).first()
        return row[0] if row else 0

    def central_available(self, msisdn: str) -> int:
        with self.central_engine.connect() as conn:
            return self.central.balance(conn, self.central.open_account(
                conn, AccountKind.MEMBER, msisdn)).available

    def journal(self) -> dict[str, int]:
        with self.central_engine.connect() as conn:
            return dict(conn.execute(select(journal.c.code, func.count())
                                     .group_by(journal.c.code)).all())


class AgentCentralLedgerCases(CentralLedgerShops):
    """The exchange of AgentExchangeCases with the central ledger, every batch through the
    gateway's postings queue. The member's prompt goes only once the centre has accepted the
    hold; the receipts go when the approval posts; the service stopped in the middle of the
    exchange and started again: the agent and the member are told it is being processed, every
    batch posts exactly once and both phones get the final SMS."""

    @defer.inlineCallbacks
    def test_the_full_exchange_and_a_reversal_through_the_queue(self):
        asked = yield self.send(SHOP, "RDM 0712345678 RICE5 2", (SHOP, 1), (JANE, 1))
        self.assertIn("asked 0712***678 JANE W. to approve 2 x Rice 5kg", asked[SHOP][0])
        code = re.search(r"YES (\d{4})", asked[JANE][0]).group(1)
        self.assertEqual(self.central_available(JANE), 350)          # held at the centre
        done = yield self.send(JANE, f"YES {code}", (SHOP, 1), (JANE, 1))
        reference = self.rows(select(agent_redemptions.c.reference))[0][0]
        self.assertEqual(done[SHOP], [f"Jifen: Approved {reference}: hand over 2 x Rice 5kg. "
                                      "Commission 20 pts."])
        self.assertEqual(done[JANE], [f"Jifen: you redeemed 2 x Rice 5kg for 1,000 pts at Shop "
                                      f"Li. Ref {reference}. Problem? Send DISPUTE {reference} "
                                      "within 24h."])
        shares = {"A1023": 20, "S01": 10, "M01": 5}
        self.assertEqual({code: self.central_posted("agent_commission", code) for code in shares},
                         shares)
        self.assertEqual(self.central_posted("shop_settlement", "A1023", "KES"), 1_000)
        self.assertEqual(self.central_available(JANE), 350)
        balance = yield self.send(SHOP, "AGBAL", (SHOP, 1))
        self.assertIn("commission earned 20 pts. Owed to you for goods: KES 10.00",
                      balance[SHOP][0])

        back = yield self.send(SHOP, f"REV {reference}", (SHOP, 1), (JANE, 1))
        self.assertIn(f"{reference} reversed: 1,000 pts back", back[SHOP][0])
        self.assertIn("are back in your account", back[JANE][0])
        self.assertEqual(self.central_available(JANE), 1350)
        self.assertEqual([self.central_posted("agent_commission", code) for code in shares],
                         [0, 0, 0])
        self.assertEqual(self.postings(), {"posted": 3})
        self.assertEqual(self.rows(select(agent_redemptions.c.state)), [("reversed",)])
        with self.loop.gateway.engine.connect() as conn:
            self.assertEqual(catalog.find(conn, "RICE5").stock, 20)

    @defer.inlineCallbacks
    def test_a_member_without_the_points_is_not_asked_and_no_voids_the_hold(self):
        refused = yield self.send(SHOP, "RDM 0722000111 RICE5", (SHOP, 1))
        self.assertEqual(refused[SHOP], ["Jifen: not done. The member does not have enough "
                                         "points."])
        self.assertEqual(self.mts(AMINA), [])                        # never prompted
        self.assertEqual(self.rows(select(agent_redemptions.c.state)), [("failed",)])
        asked = yield self.send(SHOP, "RDM 0712345678 RICE5", (SHOP, 1), (JANE, 1))
        code = re.search(r"YES (\d{4})", asked[JANE][0]).group(1)
        no = yield self.send(JANE, f"NO {code}", (SHOP, 1), (JANE, 1))
        self.assertIn("the member refused", no[SHOP][0])
        yield until(lambda: self.postings() == {"posted": 2, "refused": 1}, attempts=3000)
        self.assertEqual(self.central_available(JANE), 1350)
        self.assertEqual(self.journal().get("agent_redeem"), 1)      # the one hold, voided
        with self.loop.gateway.engine.connect() as conn:
            self.assertEqual(catalog.find(conn, "RICE5").stock, 20)

    @defer.inlineCallbacks
    def test_the_ledger_away_mid_exchange_posts_once_and_both_phones_hear(self):
        yield self.service.stop()
        waiting = yield self.send(SHOP, "RDM 0712345678 RICE5 2", (SHOP, 1))
        self.assertIn("is being processed", waiting[SHOP][0])
        self.assertEqual(self.mts(JANE), [])                         # not prompted yet
        self.service.start()
        yield until(lambda: len(self.mts(JANE)) == 1 and len(self.mts(SHOP)) == 2,
                    attempts=3000)
        self.assertIn("asked 0712***678 JANE W.", self.mts(SHOP)[1])
        code = re.search(r"YES (\d{4})", self.mts(JANE)[0]).group(1)

        yield self.service.stop()                                    # away again, before YES
        waiting = yield self.send(JANE, f"YES {code}", (JANE, 1))
        self.assertIn("is being processed", waiting[JANE][0])
        self.service.start()
        yield until(lambda: len(self.mts(JANE)) == 3 and len(self.mts(SHOP)) == 3,
                    attempts=3000)
        self.assertIn("Approved", self.mts(SHOP)[2])
        self.assertIn("you redeemed 2 x Rice 5kg", self.mts(JANE)[2])
        yield task.deferLater(reactor, 0.5, lambda: None)            # nothing more comes
        self.assertEqual((len(self.mts(SHOP)), len(self.mts(JANE))), (3, 3))
        self.assertEqual(self.postings(), {"posted": 2})
        self.assertEqual(self.journal(), {"issue": 2, "agent_redeem": 2, "commission": 3,
                                          "settlement": 1})          # hold + post, once each
        self.assertEqual(self.central_available(JANE), 350)
        with self.central_engine.connect() as conn:
            self.assertEqual(audit.problems(conn), [])

    @defer.inlineCallbacks
    def test_the_gateway_restarted_while_the_ledger_is_away_finishes_the_exchange(self):
        asked = yield self.send(SHOP, "RDM 0712345678 RICE5 2", (SHOP, 1), (JANE, 1))
        code = re.search(r"YES (\d{4})", asked[JANE][0]).group(1)
        yield self.service.stop()
        yield self.send(JANE, f"YES {code}", (JANE, 1))             # "being processed"
        yield self.loop.stop()                                      # the gateway goes down ...
        self.assertEqual(self.postings(), {"posted": 1, "queued": 1})
        yield self.loop.start(migrate_first=False)                 # ... and a new one comes up
        self.service.start()
        yield until(lambda: len(self.mts(SHOP)) == 2 and len(self.mts(JANE)) == 3,
                    attempts=3000)
        self.assertIn("Approved", self.mts(SHOP)[1])
        self.assertIn("you redeemed 2 x Rice 5kg", self.mts(JANE)[2])
        self.assertEqual(self.postings(), {"posted": 2})
        self.assertEqual(self.journal()["commission"], 3)
