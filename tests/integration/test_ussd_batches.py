"""USSD steps batched into shared transactions (gateway/ussd_batches.py), on SQLite and PostgreSQL.

The database is a real one; only its thread is replaced by `HeldDatabase`, which runs each
transaction when the test lets it go, so what rides in which batch is decided by the test, not by
timing: a step that arrives while a batch is held goes in the next one.
"""

from dataclasses import replace
from datetime import datetime, timezone

import pytest
from sqlalchemy import delete, select
from twisted.internet import defer, reactor
from twisted.trial import unittest

from gateway.config import load as load_config
from gateway.smpp.simulator_ussd import UssdNetwork
from gateway.store.tables_ussd import ussd_sessions
from gateway.testing import LoopbackGateway
from gateway.ussd import Menus, load
from gateway.ussd.testing import FakeActions
from gateway.ussd_batches import StepBatches
from gateway.ussd_sessions import Dialogues, Request
from gateway_cases import _until, scratch_url

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)
PHONES = ("254712000001", "254712000002")


class HeldDatabase:
    """`Database.run` that waits for `release`, then runs its transaction on the test's thread."""

    def __init__(self, engine):
        self.engine = engine
        self.held: list = []

    def run(self, fn, *args):
        done = defer.Deferred()
        self.held.append((fn, args, done))
        return done

    def release(self):
        fn, args, done = self.held.pop(0)
        try:
            with self.engine.begin() as conn:
                result = fn(conn, *args)
        except Exception:
            done.errback()
        else:
            done.callback(result)


@pytest.fixture
def engine(migrated_engine):
    with migrated_engine.begin() as conn:
        conn.execute(delete(ussd_sessions))
    return migrated_engine


@pytest.fixture
def actions():
    return FakeActions()


@pytest.fixture
def dialogues(actions):
    return Dialogues(Menus(load(), None), lambda conn, member, request: actions, timeout=180,
                     sms_from="10655")


def request(phone, kind, answer=None):
    return Request("main", kind, phone, f"key-{phone}", "123", {}, answer)


def results(deferreds):
    """What each deferred fired with: a value, or ("failed", the error's message)."""
    seen = []
    for deferred in deferreds:
        deferred.addCallbacks(seen.append,
                              lambda failure: seen.append(("failed", failure.getErrorMessage())))
    return seen


def rows(engine):
    with engine.connect() as conn:
        return dict(conn.execute(select(ussd_sessions.c.msisdn, ussd_sessions.c.step)).all())


def test_steps_arriving_during_a_batch_share_the_next_transaction(engine, dialogues):
    db = HeldDatabase(engine)
    batches = StepBatches(db)
    first = batches.run(dialogues.step, request(PHONES[0], "begin"), NOW)
    later = [batches.run(dialogues.step, request(phone, "begin"), NOW) for phone in PHONES[1:]]
    later.append(batches.run(dialogues.step, request(PHONES[0], "continue", "6"), NOW))
    assert len(db.held) == 1                    # one transaction at a time
    seen = results([first, *later])
    db.release()
    assert len(seen) == 1 and len(db.held) == 1  # the rest went together, in one
    db.release()
    assert [step.text.splitlines()[0] for step in seen] == [
        "Jifen Rewards", "Jifen Rewards", "Language:"]
    assert rows(engine) == {PHONES[0]: 1, PHONES[1]: 0}


def test_a_failing_step_fails_alone_and_the_others_are_answered(engine, dialogues):
    db = HeldDatabase(engine)
    batches = StepBatches(db)
    blocker = batches.run(lambda conn: None)

    def breaks_after_writing(conn, req, now):
        dialogues.step(conn, req, now)          # written, then rolled back with the batch
        raise RuntimeError("the ledger is gone")

    broken = batches.run(breaks_after_writing, request(PHONES[0], "begin"), NOW)
    fine = batches.run(dialogues.step, request(PHONES[1], "begin"), NOW)
    seen = results([blocker, broken, fine])
    db.release()
    db.release()                                # both steps: the second raises, all rolled back
    assert seen[1] == ("failed", "the ledger is gone")
    assert rows(engine) == {}
    db.release()                                # the other again, alone, first in the next
    assert seen[2].text.startswith("Jifen Rewards")
    assert rows(engine) == {PHONES[1]: 0}


def test_a_retried_answer_in_the_same_batch_runs_its_action_once(engine, dialogues, actions):
    db = HeldDatabase(engine)
    batches = StepBatches(db)
    for answer in (None, "6"):
        kind = "begin" if answer is None else "continue"
        opened = batches.run(dialogues.step, request(PHONES[0], kind, answer), NOW)
        db.release()
        assert opened.result is not None
    blocker = batches.run(lambda conn: None)
    chosen = batches.run(dialogues.step, request(PHONES[0], "continue", "3"), NOW)
    retried = batches.run(dialogues.step, request(PHONES[0], "continue", "3"), NOW)
    seen = results([blocker, chosen, retried])
    db.release()
    db.release()
    first, again = seen[1], seen[2]
    assert first.ends and not first.repeated
    assert again.repeated and again.text == first.text
    assert [call[0] for call in actions.calls] == ["set_language"]


def test_shown_marks_gathered_meanwhile_are_one_call(engine, dialogues):
    db = HeldDatabase(engine)
    batches = StepBatches(db)
    ended = []
    for phone in PHONES:
        for kind, answer in (("begin", None), ("continue", "1")):
            stepped = batches.run(dialogues.step, request(phone, kind, answer), NOW)
            db.release()
        ended.append(stepped.result.row_id)
    blocker = batches.run(lambda conn: None)
    marks = [batches.gather(dialogues.shown, row_id) for row_id in ended]
    seen = results([blocker, *marks])
    db.release()
    _, (calls,), _ = db.held[0]
    assert calls == [(dialogues.shown, ended)]
    db.release()
    assert seen == [None, None, None]
    with engine.connect() as conn:
        assert conn.execute(select(ussd_sessions.c.result)).scalars().all() == ["shown"] * 2


def test_a_failing_batch_of_one_fails_with_its_own_error(engine):
    db = HeldDatabase(engine)
    seen = results([StepBatches(db).run(lambda conn: 1 / 0)])
    db.release()
    assert seen == [("failed", "division by zero")]


# --- over loopback TCP: more dialogues at once than the bind's submit_sm window -------------------

class _ManyAtOnceCases:
    """Thirty phones dial at once on a bind with a window of two: every one gets its home menu
    (the screens queue for slots, none is dropped), then its balance, and every result is shown."""

    database = "sqlite"
    timeout = 60

    @defer.inlineCallbacks
    def setUp(self):
        base = load_config()
        config = replace(base, binds=tuple(replace(b, ussd_dialect="smpp5", window=2)
                                           for b in base.binds))
        self.loop = LoopbackGateway(reactor, scratch_url(self), config)
        self.addCleanup(self.loop.stop)
        yield self.loop.start()
        self.network = UssdNetwork(self.loop.simulator, "smpp5")
        self.addCleanup(self.network.close)

    @defer.inlineCallbacks
    def test_every_dialogue_gets_every_screen(self):
        phones = [self.network.phone(f"2547120{n:05d}") for n in range(30)]
        homes = yield defer.gatherResults([phone.dial("*123#") for phone in phones])
        balances = yield defer.gatherResults([phone.answer("1") for phone in phones])
        self.assertEqual({screen.text.splitlines()[0] for screen in homes}, {"Jifen Rewards"})
        self.assertTrue(all(screen.ends for screen in balances))
        self.assertEqual({status for phone in phones for status in phone.statuses}, {0})

        def results():
            with self.loop.gateway.engine.connect() as conn:
                return conn.execute(select(ussd_sessions.c.result)).scalars().all()
        yield from _until(lambda: results() == ["shown"] * 30)


def _many_at_once(database):
    return type(f"ManyAtOnce_{database}", (_ManyAtOnceCases, unittest.TestCase),
                {"database": database})


ManyAtOnce_sqlite = _many_at_once("sqlite")
ManyAtOnce_postgresql = _many_at_once("postgresql")
