"""The approval push sends its screen through `ScreenSender` (ussd_sending.py), as all screens go.

A fake bind protocol with a window, a `task.Clock` and a database double that answers the push's
own transaction with a row id and the USSR request: a push that finds the window full waits for a
slot instead of being dropped; one that gets no slot within the patience, or is still waiting
when the gateway stops, is closed and its code forgotten, and the SMS answers instead.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from types import SimpleNamespace

from sqlalchemy import create_engine
from twisted.internet import defer, task

from gateway.app import Gateway
from gateway.config import load
from gateway.smpp.codec import Status
from gateway.ussd_push import ApprovalPush
from gateway.ussd_sending import ScreenSender

JANE, REFERENCE, CODE, ROW = "254712345678", "R8K2P", "1951", 41
USSR = {"n": "push", "destination_addr": JANE}
DEAL = SimpleNamespace(member_msisdn=JANE, reference=REFERENCE)


class Protocol:
    """A bind's submit window: `busy` slots already taken by other senders."""

    def __init__(self, window=1, busy=0):
        self.window, self.busy, self.sent = window, busy, []

    def submit_slots(self):
        return self.window - self.busy - sum(1 for _, a in self.sent if not a.called)

    def resume_at(self):
        return None

    def submit(self, params):
        answer = defer.Deferred()
        self.sent.append((params, answer))
        return answer


class Database:
    """The push's two transactions: `_open` finds the request and opens row 41; `_close`."""

    def __init__(self):
        self.closed = []

    def run(self, fn, *args):
        if fn.__name__ == "_open":
            return defer.succeed((ROW, USSR))
        self.closed.append(args[0])
        return defer.succeed(None)


def pushing(protocol, patience=15.0):
    clock = task.Clock()
    db = Database()
    screens = ScreenSender({"ussd": SimpleNamespace(protocol=protocol)}, clock, patience=patience)
    push = ApprovalPush(db, clock, lambda: datetime.fromtimestamp(clock.seconds(), timezone.utc),
                        None, bind_name="ussd", dialect=None, screens=screens, service="123",
                        timeout=180)
    push.startService()
    push(DEAL, CODE)              # task.Clock has no callFromThread: pushed at once
    return push, clock, db


def test_a_free_slot_takes_the_push_at_once():
    protocol = Protocol()
    push, _, db = pushing(protocol)
    assert [params for params, _ in protocol.sent] == [USSR]
    protocol.sent[0][1].callback(SimpleNamespace(status=Status.OK))
    assert list(push.sent) == [REFERENCE] and db.closed == []
    assert push.code_for(JANE, REFERENCE) == CODE


def test_a_full_window_keeps_the_push_waiting_for_a_slot_not_dropped():
    protocol = Protocol(busy=1)                   # the SMS sender holds the only slot
    push, clock, db = pushing(protocol)
    clock.advance(5)
    assert protocol.sent == [] and db.closed == [] and list(push.sent) == []
    protocol.busy = 0                             # its answer came
    clock.advance(0.01)
    assert [params for params, _ in protocol.sent] == [USSR]
    protocol.sent[0][1].callback(SimpleNamespace(status=Status.OK))
    assert list(push.sent) == [REFERENCE] and db.closed == []
    assert push.code_for(JANE, REFERENCE) == CODE


def test_no_slot_within_the_patience_closes_the_push_and_forgets_the_code():
    protocol = Protocol(busy=1)
    push, clock, db = pushing(protocol, patience=2.0)
    clock.advance(1.99)
    assert db.closed == []
    clock.advance(0.02)
    assert protocol.sent == [] and db.closed == [ROW] and list(push.sent) == []
    assert push.code_for(JANE, REFERENCE) is None


def test_a_refused_push_is_closed_and_its_code_forgotten():
    protocol = Protocol()
    push, _, db = pushing(protocol)
    protocol.sent[0][1].callback(SimpleNamespace(status=Status.SYSTEM_ERROR))
    assert db.closed == [ROW] and list(push.sent) == []
    assert push.code_for(JANE, REFERENCE) is None


def test_stopping_gives_up_a_waiting_push_and_leaves_no_timer():
    protocol = Protocol(busy=1)
    push, clock, db = pushing(protocol)
    clock.advance(1)
    push.stopService()
    assert db.closed == [ROW] and clock.getDelayedCalls() == []
    assert push.code_for(JANE, REFERENCE) is None


def test_the_wired_push_is_a_service_of_the_gateway_so_its_stop_gives_up_waiting_pushes():
    base = load()
    binds = tuple(replace(b, ussd_dialect="smpp5") for b in base.binds)
    config = replace(base, binds=binds, ussd=replace(base.ussd, push_bind=binds[0].name))
    gateway = Gateway(config, task.Clock(), engine=create_engine("sqlite://"))
    push = gateway.agency.push_approval
    assert isinstance(push, ApprovalPush) and push.parent is gateway
