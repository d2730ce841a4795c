"""USSD phones for the simulator: dial a code, read the screen, answer, hang up, in any dialect.

Start at `UssdNetwork`. It plays the mobile network's side of USSD over SMPP for the demo, the
tests and the benchmark: `phone(msisdn).dial("*123#")` sends the dialect's begin deliver_sm and
fires with the gateway's first `UssdScreen`; `answer("1")` continues; `release()` aborts. Screens
(submit_sm with a ussd_service_op) are taken from the simulator through its `submit_listeners`
hook, so they never mix with SMS MTs in `Simulator.submitted`.

Network-initiated dialogues (a push, in the dialects that have one): a USSR request no phone is
waiting for is a push. It is kept for `next_push(msisdn)`; the phone takes it with
`phone.accept(push)` and then answers it like any screen (`answer("1")`), or hangs up. A number
in `refuse_pushes` hangs up at once, as a phone busy or a member pressing Cancel does (an abort
in the push's session).

Each dialect's wire format is written here independently of gateway/ussd/dialects.py (from
docs/ussd.md), so a test over the simulator checks the gateway's dialect against a second reading.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from twisted.internet import defer

from gateway.smpp import text as smstext

__all__ = ["UssdNetwork", "UssdPhone", "UssdScreen"]

BEGIN, CONTINUE, END, ABORT = "begin", "continue", "end", "abort"
_USSR_REQUEST, _PSSR_RESPONSE = 2, 17

# dialect -> kind -> ussd_service_op the phone side sends
_OPS = {
    "smpp5": {BEGIN: 1, CONTINUE: 18, END: 19, ABORT: 18},
    "umr": {BEGIN: 1, CONTINUE: 18, END: 17, ABORT: 32},
    "dialogue15": {BEGIN: 1, CONTINUE: 18, END: 17, ABORT: 0x81},
}


@dataclass(frozen=True)
class UssdScreen:
    text: str
    ends: bool          # PSSR response: the gateway closed the dialogue
    params: dict


class UssdNetwork:
    """The network side of USSD on one simulator, in one dialect, for one service code."""

    def __init__(self, simulator, dialect: str, service: str = "123"):
        if dialect not in _OPS:
            raise ValueError(f"unknown USSD dialect {dialect!r} (known: {', '.join(_OPS)})")
        self.simulator, self.dialect, self.service = simulator, dialect, service
        self._waiting: dict[str, list[defer.Deferred]] = {}
        self._numbers = itertools.count(1)
        self._pushes: dict[str, list[UssdScreen]] = {}
        self._push_waiters: dict[str, list[defer.Deferred]] = {}
        self.refuse_pushes: set[str] = set()
        simulator.submit_listeners.append(self._screen)

    def phone(self, msisdn: str) -> UssdPhone:
        return UssdPhone(self, msisdn, next(self._numbers))

    def close(self) -> None:
        self.simulator.submit_listeners.remove(self._screen)

    def next_push(self, msisdn: str) -> defer.Deferred:
        """Fires with the next screen the gateway pushed to `msisdn` (one already come, or later)."""
        if self._pushes.get(msisdn):
            return defer.succeed(self._pushes[msisdn].pop(0))
        waiter = defer.Deferred()
        self._push_waiters.setdefault(msisdn, []).append(waiter)
        return waiter

    def _screen(self, submitted) -> bool:
        op = submitted.params.get("ussd_service_op")
        if op is None:
            return False
        screen = UssdScreen(submitted.text, op == _PSSR_RESPONSE, dict(submitted.params))
        msisdn = submitted.destination_addr
        waiting = self._waiting.get(msisdn)
        if waiting:
            waiting.pop(0).callback(screen)
            return True
        if op != _USSR_REQUEST:
            return False
        if msisdn in self.refuse_pushes:   # busy, or Cancel pressed: an abort in its session
            phone = self.phone(msisdn)
            phone.accept(screen)
            phone.release()
        elif self._push_waiters.get(msisdn):
            self._push_waiters[msisdn].pop(0).callback(screen)
        else:
            self._pushes.setdefault(msisdn, []).append(screen)
        return True

    def _next_screen(self, msisdn: str) -> defer.Deferred:
        waiter = defer.Deferred()
        self._waiting.setdefault(msisdn, []).append(waiter)
        return waiter


class UssdPhone:
    """One phone's dialogue; a new `dial` starts a new session number."""

    def __init__(self, network: UssdNetwork, msisdn: str, number: int):
        self.network, self.msisdn = network, msisdn
        self._number, self._sequence = number, 0
        self.statuses: list[int] = []   # deliver_sm_resp command_status, in order

    def dial(self, code: str = "*123#") -> defer.Deferred:
        self._sequence = 0
        return self._send(BEGIN, code, expect=True)

    def answer(self, text: str) -> defer.Deferred:
        return self._send(CONTINUE, text, expect=True)

    def accept(self, push: UssdScreen) -> UssdPhone:
        """Take a pushed screen's session: the next `answer` answers it."""
        dialect, params = self.network.dialect, push.params
        if dialect == "smpp5":
            info = params["its_session_info"]
            self._number, self._sequence = info >> 8, ((info >> 1) & 0x7F) + 1
        elif dialect == "dialogue15":
            self._number = params["its_session_info"] >> 1
        else:
            raise ValueError(f"the {dialect} dialect has no push")
        return self

    def release(self) -> defer.Deferred:
        """The phone hangs up mid-dialogue (abort); fires with the deliver_sm_resp status."""
        return self._send(ABORT, "", expect=False)

    def _send(self, kind: str, text: str, expect: bool) -> defer.Deferred:
        screen = self.network._next_screen(self.msisdn) if expect else None
        delivered = self.network.simulator.deliver(
            self.msisdn, self.network.service, short_message=smstext.encode(text).payload if text
            else b"", data_coding=smstext.encode(text).data_coding if text else 0,
            service_type="USSD", **self._tlvs(kind))
        delivered.addCallback(lambda status: self.statuses.append(status) or status)
        self._sequence += 2             # ours, then the gateway's dialogue unit
        if screen is None:
            return delivered
        return delivered.addCallback(lambda _: screen)

    def _tlvs(self, kind: str) -> dict:
        op = _OPS[self.network.dialect][kind]
        ending = kind == ABORT and self.network.dialect != "umr"
        if self.network.dialect == "smpp5":
            info = (self._number & 0xFF) << 8 | (self._sequence & 0x7F) << 1 | ending
            return {"ussd_service_op": op, "its_session_info": info}
        if self.network.dialect == "umr":
            return {"ussd_service_op": op, "user_message_reference": self._number & 0xFFFF}
        return {"ussd_service_op": op, "its_session_info": (self._number & 0x7FFF) << 1 | ending}
