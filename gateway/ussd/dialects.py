"""USSD over SMPP: each vendor's way of marking a dialogue, behind one small interface.

Start at `Dialect`. SMPP carries USSD in deliver_sm (phone to gateway) and submit_sm (gateway to
phone) with service_type "USSD" and the TLVs ussd_service_op (0x0501) and its_session_info
(0x1383); how a vendor marks begin, continue, end and abort, and where it keeps the session id,
differs. Each way is a dialect chosen per bind in the config, so the rest of the gateway only ever
sees a `UssdEvent` and never asks which vendor it talks to:

    smpp5       the SMPP 3.4/5.0 operation codes: 1 PSSR indication begins a pull session, 18 USSR
                confirm continues; the gateway answers 2 USSR request (continue) or 17 PSSR
                response (end). its_session_info: high octet the session number, bits 7..1 of the
                low octet the dialogue unit's sequence number, bit 0 end of session.
    umr         the session id in user_message_reference; 17 ends, vendor code 32 aborts.
    dialogue15  a 15-bit dialogue id in the high bits of its_session_info, bit 0 end of session;
                17 ends, vendor code 129 (0x81) aborts.

Parameters are the plain mappings `gateway.smpp.codec` produces (`Pdu.params`); text goes through
the `decode`/`encode` functions the composition root passes in (gateway/smpp/text.py's), so this
module imports nothing from the SMPP layer. What a dialect cannot read — no ussd_service_op, an
operation code a phone never sends, a missing session id — raises `UssdError`, and nothing else
does: the caller answers the PDU cleanly and logs the message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = ["DIALECTS", "Dialect", "UssdError", "UssdEvent", "UssdSession", "dialect"]

BEGIN, CONTINUE, END, ABORT = "begin", "continue", "end", "abort"
SERVICE_TYPE = "USSD"

# SMPP 3.4 section 5.3.2.44: ussd_service_op values. 4-15 and 20-31 are reserved; 32-255 vendor's.
PSSD_INDICATION, PSSR_INDICATION, USSR_REQUEST, USSN_REQUEST = 0, 1, 2, 3
PSSD_RESPONSE, PSSR_RESPONSE, USSR_CONFIRM, USSN_CONFIRM = 16, 17, 18, 19
_OP_NAMES = {0: "PSSD indication", 1: "PSSR indication", 2: "USSR request", 3: "USSN request",
             16: "PSSD response", 17: "PSSR response", 18: "USSR confirm", 19: "USSN confirm"}

Decode = Callable[[bytes, int], str]          # (short_message, data_coding) -> text
Encode = Callable[[str], tuple[int, bytes]]   # text -> (data_coding, short_message)


class UssdError(ValueError):
    """A USSD PDU or stored session this dialect cannot read; the text says what and why."""


@dataclass(frozen=True)
class UssdSession:
    """What it takes to answer in one dialogue; (msisdn, key) names the dialogue.

    ``service`` is the address the phone reached (the deliver_sm destination_addr), answered from;
    ``info`` holds the dialect's own numbers (session number and sequence, or the vendor id).
    Plain data, so it can be stored beside the menu state between two answers.
    """

    dialect: str
    msisdn: str
    service: str
    key: str
    info: Mapping[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"dialect": self.dialect, "msisdn": self.msisdn, "service": self.service,
                "key": self.key, "info": dict(self.info)}

    @classmethod
    def from_dict(cls, data: Any) -> UssdSession:
        try:
            session = cls(**data)
        except TypeError:
            raise UssdError("stored USSD session has unexpected fields") from None
        texts = (session.dialect, session.msisdn, session.service, session.key)
        if (not all(isinstance(t, str) and len(t) <= 64 for t in texts)
                or not isinstance(session.info, Mapping)
                or not all(type(v) is int and 0 <= v <= 0xFFFF for v in session.info.values())):
            raise UssdError("stored USSD session is malformed")
        return session


@dataclass(frozen=True)
class UssdEvent:
    """One USSD PDU from the network: what happened, in which session, and what the phone sent.

    ``text`` is the dialled string (e.g. "*123#") on begin, the answer on continue, and usually
    empty on end and abort.
    """

    kind: str  # begin | continue | end | abort
    session: UssdSession
    text: str

    @property
    def session_key(self) -> str:
        return self.session.key


class Dialect:
    """The interface, and the parts every op-code dialect shares.

    A subclass says which operation codes mean what (`_KINDS`) and how its session id travels
    (`_read_session`, `_session_params`). ``pushes``: whether the gateway may start a session
    towards a phone (a network-initiated USSR request).
    """

    name: ClassVar[str]
    pushes: ClassVar[bool] = True
    push_numbers: ClassVar[int] = 0  # how many session numbers the gateway may choose from
    _KINDS: ClassVar[Mapping[int, str]]  # ussd_service_op -> kind, with the end bit clear
    _KINDS_ENDING: ClassVar[Mapping[int, str]]  # ... with the end-of-session bit set

    def __init__(self, decode: Decode, encode: Encode):
        self._decode, self._encode = decode, encode

    def parse(self, params: Mapping[str, Any]) -> UssdEvent:
        """Read a deliver_sm's parameters; raises UssdError for anything this dialect cannot read."""
        if not isinstance(params, Mapping):
            raise UssdError("not a PDU's parameters")
        op = params.get("ussd_service_op")
        if op is None:
            raise UssdError("no ussd_service_op: not a USSD message")
        if type(op) is not int or not 0 <= op <= 255:
            raise UssdError(f"ussd_service_op {op!r} is not an octet")
        msisdn = params.get("source_addr")
        if not isinstance(msisdn, str) or not msisdn:
            raise UssdError("no source_addr: cannot tell which phone is dialling")
        key, info, ending = self._read_session(params)
        kind = (self._KINDS_ENDING if ending else self._KINDS).get(op)
        if kind is None:
            raise UssdError(self._refusal(op, ending))
        service = params.get("destination_addr")
        session = UssdSession(self.name, msisdn, service if isinstance(service, str) else "", key, info)
        return UssdEvent(kind, session, self._text(params))

    def reply(self, session: UssdSession, text: str, end: bool) -> dict[str, Any]:
        """submit_sm parameters answering `session`: show `text`, then wait (or close if `end`)."""
        if session.dialect != self.name:
            raise UssdError(f"a {session.dialect} session cannot be answered in the {self.name} dialect")
        return self._submit(session, text, PSSR_RESPONSE if end else USSR_REQUEST,
                            self._session_params(session, end))

    def push(self, msisdn: str, service: str, text: str, number: int) -> tuple[UssdSession, dict[str, Any]]:
        """Start a session towards a phone (USSR request): the session and its submit_sm parameters.

        `number` is the session number the gateway chose (0 .. push_numbers - 1), unique among
        the phone's open sessions. Raises UssdError where the dialect cannot push; the caller
        falls back to SMS.
        """
        if not self.pushes:
            raise UssdError(f"the {self.name} dialect cannot start a session (the network assigns "
                            "its session ids); send an SMS instead")
        if type(number) is not int or not 0 <= number < self.push_numbers:
            raise UssdError(f"session number {number!r} is outside 0..{self.push_numbers - 1}")
        session = self._pushed(msisdn, service, number)
        return session, self._submit(session, text, USSR_REQUEST, self._session_params(session, False, 0))

    # --- for subclasses -------------------------------------------------------------------------

    def _read_session(self, params: Mapping[str, Any]) -> tuple[str, dict[str, int], bool]:
        """(session key, info to answer with, end-of-session bit) from a deliver_sm."""
        raise NotImplementedError

    def _session_params(self, session: UssdSession, end: bool, step: int = 1) -> dict[str, int]:
        """The TLVs that carry the session in a submit_sm."""
        raise NotImplementedError

    def _pushed(self, msisdn: str, service: str, number: int) -> UssdSession:
        raise NotImplementedError

    # --- shared ---------------------------------------------------------------------------------

    def _submit(self, session: UssdSession, text: str, op: int, tlvs: Mapping[str, int]) -> dict[str, Any]:
        data_coding, payload = self._encode(text)
        return {"service_type": SERVICE_TYPE, "source_addr": session.service,
                "destination_addr": session.msisdn, "data_coding": data_coding,
                "short_message": payload, "ussd_service_op": op, **tlvs}

    def _text(self, params: Mapping[str, Any]) -> str:
        payload = params.get("message_payload") or params.get("short_message") or b""
        data_coding = params.get("data_coding", 0)
        if not isinstance(payload, bytes) or type(data_coding) is not int:
            raise UssdError("short_message is not octets")
        try:
            return self._decode(payload, data_coding)
        except ValueError as error:
            raise UssdError(f"short_message cannot be decoded ({error})") from None

    def _refusal(self, op: int, ending: bool) -> str:
        named = f"ussd_service_op {op}" + (f" ({_OP_NAMES[op]})" if op in _OP_NAMES else "")
        if op in (USSR_REQUEST, USSN_REQUEST, PSSD_RESPONSE, PSSR_RESPONSE) and op not in self._KINDS:
            return f"{named} is sent to phones, not from them"
        if op == PSSD_INDICATION:
            return f"{named} is USSD phase 1, which has no dialogue; the {self.name} dialect needs 1"
        if 4 <= op <= 15 or 20 <= op <= 31:
            return f"{named} is reserved in SMPP"
        if op >= 32 and op not in self._KINDS and op not in self._KINDS_ENDING:
            return f"{named} is a vendor code the {self.name} dialect does not know"
        return f"{named} with the end-of-session bit {'set' if ending else 'clear'} means nothing here"


def _tlv(params: Mapping[str, Any], name: str, dialect: str, required: bool) -> int:
    value = params.get(name)
    if value is None and not required:
        return 0
    if type(value) is not int or not 0 <= value <= 0xFFFF:
        raise UssdError(f"{name} {'missing' if value is None else repr(value)}: the {dialect} "
                        "dialect carries the session id there")
    return value


class Smpp5Dialect(Dialect):
    name = "smpp5"
    push_numbers = 256
    _KINDS = {PSSR_INDICATION: BEGIN, USSR_CONFIRM: CONTINUE, USSN_CONFIRM: END}
    # The network sets the end bit when the phone released instead of answering.
    _KINDS_ENDING = {PSSR_INDICATION: ABORT, USSR_CONFIRM: ABORT, USSN_CONFIRM: END}

    def _read_session(self, params):
        info = _tlv(params, "its_session_info", self.name, required=False)
        number, sequence = info >> 8, (info >> 1) & 0x7F
        return str(number), {"session_number": number, "sequence": sequence}, bool(info & 1)

    def _session_params(self, session, end, step=1):
        # Our dialogue unit follows the phone's: sequence + 1, in 7 bits.
        sequence = (session.info.get("sequence", 0) + step) & 0x7F
        return {"its_session_info": session.info.get("session_number", 0) << 8 | sequence << 1 | end}

    def _pushed(self, msisdn, service, number):
        return UssdSession(self.name, msisdn, service, str(number), {"session_number": number, "sequence": 0})


class UmrDialect(Dialect):
    name = "umr"
    pushes = False
    VENDOR_ABORT = 32
    _KINDS = {PSSR_INDICATION: BEGIN, USSR_CONFIRM: CONTINUE, PSSR_RESPONSE: END, VENDOR_ABORT: ABORT}
    _KINDS_ENDING: Mapping[int, str] = {}  # the end bit is not used; its_session_info is ignored

    def _read_session(self, params):
        reference = _tlv(params, "user_message_reference", self.name, required=True)
        return str(reference), {"user_message_reference": reference}, False

    def _session_params(self, session, end, step=1):
        return {"user_message_reference": session.info.get("user_message_reference", 0)}


class Dialogue15Dialect(Dialect):
    name = "dialogue15"
    push_numbers = 1 << 15
    VENDOR_ABORT = 0x81
    _KINDS = {PSSR_INDICATION: BEGIN, USSR_CONFIRM: CONTINUE, PSSR_RESPONSE: END, VENDOR_ABORT: ABORT}
    _KINDS_ENDING = {PSSR_INDICATION: ABORT, USSR_CONFIRM: ABORT, PSSR_RESPONSE: END, VENDOR_ABORT: ABORT}

    def _read_session(self, params):
        info = _tlv(params, "its_session_info", self.name, required=True)
        return str(info >> 1), {"dialogue": info >> 1}, bool(info & 1)

    def _session_params(self, session, end, step=1):
        return {"its_session_info": session.info.get("dialogue", 0) << 1 | end}

    def _pushed(self, msisdn, service, number):
        return UssdSession(self.name, msisdn, service, str(number), {"dialogue": number})


DIALECTS: Mapping[str, type[Dialect]] = {
    cls.name: cls for cls in (Smpp5Dialect, UmrDialect, Dialogue15Dialect)
}


def dialect(name: str, decode: Decode, encode: Encode) -> Dialect:
    """The dialect a bind's config names; ValueError listing the known ones otherwise."""
    try:
        return DIALECTS[name](decode, encode)
    except (KeyError, TypeError):
        raise ValueError(f"unknown USSD dialect {name!r} (known: {', '.join(DIALECTS)})") from None
