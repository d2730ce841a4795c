"""USSD steps of many dialogues in one transaction: what comes while one commits goes in the next.

Start at `StepBatches.run`, which `UssdService` calls where it would call `Database.run`. A step
is one short transaction (ussd_sessions.py); under load the BEGIN and COMMIT, the hop to the
database thread and back, and the reactor's wake-ups around them cost more than the step itself.
So, as the SMS inbox does (pipeline.py `Inbox`), the steps that arrive while a batch is committing
wait and go together in the next, one batch at a time. Nothing waits on a timer: when no batch
is running a step starts at once, so a quiet gateway answers as fast as before. (Several batches
at once on PostgreSQL's four threads measured no faster: smaller batches, the same one core.)

Every guarantee of a step holds inside a batch: each deferred fires only after the whole batch has
committed, so a screen is still sent after its state is written; steps run in the order they
arrived, so two requests of one dialogue in one batch see each other as two transactions would
(a retried answer finds the dialogue ended and gets the last screen, its action not run again).
A step that raises fails alone: the batch's transaction is rolled back, that step is answered with
its error, and the others go again, first, in the next batch. (A SAVEPOINT per step would keep the
others' work instead, but costs two statements per step, a fifth of a step, to save work only when
a step fails, which is rare; a step is all database work, so running it again after a rollback
is what a network retry does anyway.) If the commit itself fails, every step in the batch fails
and nothing of it was written.
"""

from __future__ import annotations

from twisted.internet import defer
from twisted.python.failure import Failure

__all__ = ["StepBatches", "StepFailed", "run_batch"]


class StepBatches:
    """Runs `fn(conn, *args)` calls in shared transactions on `db`, one transaction at a time."""

    def __init__(self, db, *, limit: int = 200):
        self._db = db
        self._limit = limit             # steps per transaction: a batch holds its row locks
        self._waiting: list[tuple[tuple, defer.Deferred]] = []
        self._gathered: dict = {}       # fn -> [(item, deferred)]: one call in the next batch
        self._running = False

    def run(self, fn, *args) -> defer.Deferred:
        """Fires with `fn(conn, *args)` once its batch has committed (as `Database.run` does)."""
        done = defer.Deferred()
        self._waiting.append(((fn, *args), done))
        self._next()
        return done

    def gather(self, fn, item) -> defer.Deferred:
        """Fires once `fn(conn, items)` has committed, `items` all those gathered for `fn` when
        the next batch formed: small writes of one kind (the `shown` marks) as one statement."""
        done = defer.Deferred()
        self._gathered.setdefault(fn, []).append((item, done))
        self._next()
        return done

    def _next(self):
        if self._running or not (self._waiting or self._gathered):
            return
        self._running = True
        for fn, gathered in self._gathered.items():
            self._waiting.append(((fn, [item for item, _ in gathered]), _all_of(gathered)))
        self._gathered = {}
        batch, self._waiting = self._waiting[:self._limit], self._waiting[self._limit:]
        committed = defer.maybeDeferred(self._db.run, run_batch, [call for call, _ in batch])
        committed.addCallbacks(self._committed, self._failed, callbackArgs=(batch,),
                               errbackArgs=(batch,))

    def _committed(self, outcomes, batch):
        # The next batch goes to the database thread before the screens of this one are sent.
        self._running = False
        self._next()
        for (_, done), outcome in zip(batch, outcomes):
            done.callback(outcome)

    def _failed(self, failure, batch):
        self._running = False
        if failure.check(StepFailed) and len(batch) > 1:
            index = failure.value.index
            self._waiting[:0] = batch[:index] + batch[index + 1:]
            self._next()
            batch[index][1].errback(failure.value.failure)
            return
        self._next()
        for _, done in batch:
            done.errback(failure)


def _all_of(gathered) -> defer.Deferred:
    """One deferred whose outcome goes to each of the gathered items' own."""
    done = defer.Deferred()

    def fire(outcome):
        for _, each in gathered:
            (each.errback if isinstance(outcome, Failure) else each.callback)(outcome)
    done.addBoth(fire)
    return done


class StepFailed(Exception):
    """Step `index` of a batch raised `failure`; the batch's transaction was rolled back."""

    def __init__(self, index: int, failure: Failure):
        super().__init__(f"step {index} of the batch failed: {failure.getErrorMessage()}")
        self.index, self.failure = index, failure


def run_batch(conn, calls: list[tuple]) -> list:
    """Each `fn(conn, *args)` in turn, in this one transaction: their results, in order."""
    outcomes = []
    for index, (fn, *args) in enumerate(calls):
        try:
            outcomes.append(fn(conn, *args))
        except Exception as error:
            if len(calls) == 1:
                raise
            raise StepFailed(index, Failure()) from error
    return outcomes
