"""What an SMSC's command_status means for a submit_sm: send slower, try again, or give up.

One table, read by the session (which pauses a throttled bind) and the
sender (which retries or fails the message), so the two never disagree.
Anything not listed as pausing or temporary is permanent: the SMSC will
refuse that message however often it is sent (a bad destination, a bad
field), and sending it again would only cost money and window.
"""

from __future__ import annotations

from smpplib import consts

from gateway.smpp.codec import Status

__all__ = ["PAUSING", "TEMPORARY", "describe"]

#: "You are sending too fast": pause this bind, then send the same message again.
PAUSING = frozenset({Status.THROTTLED, Status.QUEUE_FULL})

#: "Not now": the message itself may be fine; retried with backoff, up to a limit.
TEMPORARY = frozenset({
    Status.SYSTEM_ERROR,                 # 0x08 ESME_RSYSERR
    Status.INCORRECT_BIND_STATUS,        # 0x04: the SMSC lost our bind; the next one may do
    consts.SMPP_ESME_RSUBMITFAIL,        # 0x45 submit_sm failed
    Status.TEMPORARY_APP_ERROR,          # 0x64 ESME_RX_T_APPN
    consts.SMPP_ESME_RDELIVERYFAILURE,   # 0xFE
    consts.SMPP_ESME_RUNKNOWNERR,        # 0xFF: unknown is not a reason to drop a message
})

_NAMES = {value: name[len("SMPP_"):] for name, value in vars(consts).items()
          if name.startswith("SMPP_ESME_")}


def describe(status: int) -> str:
    """``"ESME_RINVDSTADR (0x0b)"``: the name operators search for, and the number."""
    return f"{_NAMES.get(status, 'status')} (0x{status:02x})"
