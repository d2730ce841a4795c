"""USSD screens onto their bind's submit_sm window: they wait their turn when it is full.

Start at `ScreenSender.send`. A screen must go out on the bind its request came in on, and that
bind's window (`window` in the config, 10 by default) is shared with the SMS sender. Steps commit
in batches (ussd_batches.py), so a batch of 50 dialogues has 50 screens ready at once: the ones
that find the window full queue, in order, and go as answers free slots (ours wake the queue at
once; the SMS sender's and the TPS cap's are found by a short timer). A screen that cannot go
within `patience` seconds (the reply budget: the network has given up on it by then), or whose
bind is down, fires False, as an unencodable one does, and an ending screen's result then goes
by SMS (ussd_service.py). The approval push (ussd_push.py) sends its screen through the same
`ScreenSender` (ussd_wiring.py builds one), so a full window makes it wait in the same queue.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping

import structlog
from twisted.internet import defer

from gateway.smpp.codec import Status

log = structlog.get_logger(__name__)

__all__ = ["ScreenSender"]

#: How soon a queue looks again when a slot is held by someone else (the SMS sender, the SMSC).
RETRY = 0.005


class ScreenSender:
    def __init__(self, binds: Mapping[str, object], clock, *, patience: float):
        self._binds = binds               # bind name -> SmppBind (for its protocol)
        self._clock = clock
        self._patience = patience
        self._queues: dict[str, deque] = {}
        self._calls: dict[str, object] = {}

    def send(self, bind_name: str, params: dict) -> defer.Deferred:
        """Submit `params` on the bind when a slot is free; fires True if the SMSC took it."""
        done = defer.Deferred()
        queue = self._queues.setdefault(bind_name, deque())
        queue.append((params, done, self._clock.seconds() + self._patience))
        if len(queue) == 1:
            self._pump(bind_name)
        return done

    def stop(self) -> None:
        """The gateway is stopping: what still waits will not go."""
        for call in self._calls.values():
            if call.active():
                call.cancel()
        self._calls.clear()
        for bind_name, queue in self._queues.items():
            while queue:
                self._give_up(bind_name, queue.popleft()[1], "gateway stopping")

    def _pump(self, bind_name: str) -> None:
        queue = self._queues[bind_name]
        protocol = getattr(self._binds.get(bind_name), "protocol", None)
        now = self._clock.seconds()
        while queue:
            params, done, deadline = queue[0]
            if protocol is None or now >= deadline:
                queue.popleft()
                self._give_up(bind_name, done, "bind down" if protocol is None
                              else "no free submit slot within the reply budget")
                continue
            if protocol.submit_slots() <= 0:
                break
            queue.popleft()
            try:
                submitted = protocol.submit(params)
            except Exception as error:    # unencodable, or the session refused after all
                self._give_up(bind_name, done, str(error))
                continue
            submitted.addCallbacks(self._answered, self._unanswered, callbackArgs=(bind_name, done),
                                   errbackArgs=(bind_name, done))
        if queue:
            self._again(bind_name, protocol.resume_at() if protocol is not None else None)

    def _again(self, bind_name: str, at: float | None) -> None:
        call = self._calls.get(bind_name)
        if call is not None and call.active():
            return
        delay = RETRY if at is None else max(RETRY, at - self._clock.seconds())
        self._calls[bind_name] = self._clock.callLater(delay, self._pump, bind_name)

    def _answered(self, answer, bind_name: str, done: defer.Deferred) -> None:
        status = getattr(answer, "status", Status.OK)
        if status != Status.OK:
            log.warning("ussd.screen_not_sent", bind=bind_name, status=f"0x{status:08x}")
        done.callback(status == Status.OK)
        self._pump(bind_name)             # our answer freed a slot

    def _unanswered(self, failure, bind_name: str, done: defer.Deferred) -> None:
        log.warning("ussd.screen_not_sent", bind=bind_name, error=failure.type.__name__,
                    detail=failure.getErrorMessage())
        done.callback(False)
        self._pump(bind_name)

    def _give_up(self, bind_name: str, done: defer.Deferred, reason: str) -> None:
        log.warning("ussd.screen_not_sent", bind=bind_name, error=reason)
        done.callback(False)
