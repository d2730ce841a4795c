"""The inbox under a database that lags: one commit queued at a time, never a pile-up."""

from datetime import datetime, timezone

from twisted.internet import defer, task

from gateway.pipeline import Inbox
from gateway.smpp.codec import Pdu, Status


class SlowDatabase:
    """Runs nothing until told: each `run` waits for `finish`."""

    def __init__(self):
        self.calls = []

    def run(self, fn, *args):
        waiting = defer.Deferred()
        self.calls.append((fn, args, waiting))
        return waiting

    def finish(self, index, result):
        self.calls[index][2].callback(result)


def mo(n):
    return Pdu("deliver_sm", n, params=dict(source_addr="254712345678",
                                            destination_addr="10655",
                                            short_message=b"BAL", data_coding=0))


def test_a_lagging_commit_queues_one_more_not_one_per_window():
    clock, db, committed = task.Clock(), SlowDatabase(), []
    inbox = Inbox(db, clock, lambda: datetime(2026, 12, 2, tzinfo=timezone.utc),
                  region="KE", alphabets={}, batch_window=0.005,
                  committed=committed.extend, secret_key=b"k" * 32)
    first = inbox.receive(mo(1), "main")
    clock.advance(0.005)                      # commit 1 starts and hangs
    answers = []
    for n in range(2, 2002):                  # 2,000 windows, each with an MO, while it hangs
        answers.append(inbox.receive(mo(n), "main"))
        clock.advance(0.005)
    assert len(db.calls) == 1
    db.finish(0, [1])
    assert first.result == Status.OK
    assert len(db.calls) == 2                 # one commit took all 2,000 that waited
    db.finish(1, list(range(2, 2002)))
    assert [answer.result for answer in answers] == [Status.OK] * 2000
    assert committed == list(range(1, 2002))
