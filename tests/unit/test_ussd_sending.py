"""USSD screens wait for a free submit_sm slot on their bind (gateway/ussd_sending.py).

A fake bind protocol with a window of two and a `task.Clock`: screens beyond the window queue in
order and go as answers come back; one that cannot go within the patience, or whose bind is down,
fires False.
"""

from types import SimpleNamespace

from twisted.internet import defer, task

from gateway.smpp.codec import Status
from gateway.ussd_sending import ScreenSender


class Protocol:
    def __init__(self, window=2):
        self.window, self.sent = window, []

    def submit_slots(self):
        return self.window - sum(1 for _, answer in self.sent if not answer.called)

    def resume_at(self):
        return None

    def submit(self, params):
        answer = defer.Deferred()
        self.sent.append((params["n"], answer))
        return answer

    def answer(self, index, status=Status.OK):
        self.sent[index][1].callback(SimpleNamespace(status=status))


def sender(protocol, patience=5.0):
    clock = task.Clock()
    bind = SimpleNamespace(protocol=protocol)
    return ScreenSender({"main": bind}, clock, patience=patience), clock, bind


def outcomes(deferreds):
    seen = []
    for deferred in deferreds:
        deferred.addCallback(seen.append)
    return seen


def test_screens_beyond_the_window_wait_their_turn():
    protocol = Protocol(window=2)
    screens, clock, _ = sender(protocol)
    seen = outcomes([screens.send("main", {"n": n}) for n in range(4)])
    assert [n for n, _ in protocol.sent] == [0, 1]
    protocol.answer(0)
    assert [n for n, _ in protocol.sent] == [0, 1, 2]
    protocol.answer(1, Status.THROTTLED)
    protocol.answer(2)
    assert [n for n, _ in protocol.sent] == [0, 1, 2, 3]
    protocol.answer(3)
    assert seen == [True, False, True, True]


def test_a_slot_freed_by_someone_else_is_found_by_the_timer():
    protocol = Protocol(window=1)
    protocol.sent.append(("sms", defer.Deferred()))     # the SMS sender's submit_sm in flight
    screens, clock, _ = sender(protocol)
    seen = outcomes([screens.send("main", {"n": 0})])
    protocol.sent[0][1].callback(None)
    clock.advance(0.01)
    assert [n for n, _ in protocol.sent] == ["sms", 0]
    protocol.answer(1)
    assert seen == [True]


def test_a_screen_that_cannot_go_in_time_or_on_a_bind_down_fires_false():
    protocol = Protocol(window=0)
    screens, clock, bind = sender(protocol, patience=1.0)
    seen = outcomes([screens.send("main", {"n": 0})])
    clock.advance(1.01)
    assert seen == [False] and protocol.sent == []
    bind.protocol = None
    seen = outcomes([screens.send("main", {"n": 1})])
    assert seen == [False]


def test_stopping_gives_up_what_waits_and_leaves_no_timer():
    screens, clock, _ = sender(Protocol(window=0))
    seen = outcomes([screens.send("main", {"n": 0})])
    screens.stop()
    assert seen == [False] and clock.getDelayedCalls() == []
