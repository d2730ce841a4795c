"""SMPP 3.4 PDUs: bytes in, `Pdu` values out, and back.

smpplib knows the field layout of every PDU, so we use its command classes
for that, but we never let its objects or its exceptions out of this module.
Three gaps in smpplib 2.2.4 are mended here, in subclasses, never by patching
smpplib globally:

* a PDU wants a *sequence source* (smpplib's default client has none and
  raises AttributeError); we always pass the sequence number explicitly;
* its DeliverSM does not list the ``ussd_service_op`` TLV, so any USSD
  deliver_sm raised KeyError;
* its parser trusts the bytes: a C-string without its NUL, an sm_length past
  the end or a TLV whose length disagrees with its type silently misparse or
  raise struct.error.  Our parser checks every bound and skips unknown TLVs,
  as SMPP 3.4 section 3.2.4 asks of a receiver.

The contract, as in h11: for any bytes, `decode` returns a `Pdu` or raises
`PDUError`, and nothing else.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

from smpplib import command as smpp_command
from smpplib import command_codes, consts
from smpplib.ptypes import ostr

__all__ = [
    "Pdu",
    "PDUError",
    "decode",
    "encode",
    "pdu_length",
    "HEADER_LENGTH",
    "MAX_PDU_LENGTH",
    "Status",
]

HEADER_LENGTH = 16
#: Nothing legitimate comes near this; a larger length means we lost framing.
MAX_PDU_LENGTH = 64 * 1024

_HEADER = struct.Struct(">LLLL")
_TLV_HEADER = struct.Struct(">HH")
_INT_FORMATS = {1: ">B", 2: ">H", 4: ">L"}


class Status:
    """The command_status values the gateway itself uses or reacts to."""

    OK = consts.SMPP_ESME_ROK
    INVALID_LENGTH = consts.SMPP_ESME_RINVCMDLEN
    INVALID_COMMAND = consts.SMPP_ESME_RINVCMDID
    INCORRECT_BIND_STATUS = consts.SMPP_ESME_RINVBNDSTS
    ALREADY_BOUND = consts.SMPP_ESME_RALYBND
    SYSTEM_ERROR = consts.SMPP_ESME_RSYSERR
    BIND_FAILED = consts.SMPP_ESME_RBINDFAIL
    INVALID_PASSWORD = consts.SMPP_ESME_RINVPASWD
    QUEUE_FULL = consts.SMPP_ESME_RMSGQFUL
    THROTTLED = consts.SMPP_ESME_RTHROTTLED
    TEMPORARY_APP_ERROR = consts.SMPP_ESME_RX_T_APPN
    PERMANENT_APP_ERROR = consts.SMPP_ESME_RX_P_APPN
    REJECT_MESSAGE = consts.SMPP_ESME_RX_R_APPN


class PDUError(ValueError):
    """Bytes that are not a PDU we can read.

    ``status`` is what to answer in a generic_nack; ``fatal`` means framing
    itself is lost (we cannot know where the next PDU starts), so the only
    safe answer is to close the connection.
    """

    def __init__(self, message, *, command_id=None, sequence=None,
                 status=Status.INVALID_LENGTH, fatal=False):
        super().__init__(message)
        self.command_id = command_id
        self.sequence = sequence
        self.status = status
        self.fatal = fatal


@dataclass(frozen=True)
class Pdu:
    """One SMPP PDU as plain values.

    ``params`` holds the mandatory fields and any TLVs present: C-octet
    strings as ``str``, octet strings (short_message, message_payload) as
    ``bytes``, integers as ``int``.
    """

    command: str
    sequence: int
    status: int = Status.OK
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    def __getitem__(self, name):
        return self.params[name]

    def get(self, name, default=None):
        return self.params.get(name, default)

    @property
    def is_response(self) -> bool:
        return bool(command_codes.get_command_code(self.command) & 0x80000000)

    def response(self, status=Status.OK, **params) -> "Pdu":
        """The response PDU to this request, carrying its sequence number."""
        return Pdu(self.command + "_resp", self.sequence, status, params)


class _NoSequenceSource:
    """Stands in for smpplib's client: sequence numbers are always explicit."""

    sequence = 0

    def next_sequence(self):
        raise AssertionError("codec PDUs always carry an explicit sequence")


class _CheckedParsing:
    """Bounds-checked replacements for smpplib's field parsers."""

    def parse_params(self, data):
        # smpplib stops quietly when the body runs out; a body that has begun
        # must carry every mandatory field.
        pos = 0
        for name in self.params_order:
            if self.field_is_optional(name):
                break
            param = self.params[name]
            if param.type is int:
                data, pos = self._parse_int(name, data, pos)
            elif param.type is str:
                data, pos = self._parse_string(name, data, pos)
            elif param.type is ostr:
                data, pos = self._parse_ostring(name, data, pos)
        if pos < len(data):
            self.parse_optional_params(data[pos:])

    def _parse_string(self, field_name, data, pos, length=None):
        if length is None:
            end = data.find(b"\0", pos)
            if end < 0:
                raise PDUError(f"{self.command}: {field_name} has no terminating NUL")
        else:
            end = pos + length - 1
            if length < 1 or data[end:end + 1] != b"\0":
                raise PDUError(f"{self.command}: TLV {field_name} is not NUL-terminated")
        limit = getattr(self.params[field_name], "max", None)
        if limit is not None and end - pos >= limit:
            raise PDUError(f"{self.command}: {field_name} longer than {limit - 1} octets")
        setattr(self, field_name, data[pos:end].decode("latin-1"))
        return data, end + 1

    def _parse_int(self, field_name, data, pos):
        size = self.params[field_name].size
        if pos + size > len(data):
            raise PDUError(f"{self.command}: body ends inside {field_name}")
        (value,) = struct.unpack(_INT_FORMATS[size], data[pos:pos + size])
        setattr(self, field_name, value)
        return data, pos + size

    def _parse_ostring(self, field_name, data, pos, length=None):
        if length is None:
            length = int(getattr(self, self.params[field_name].len_field) or 0)
        if pos + length > len(data):
            raise PDUError(f"{self.command}: {field_name} runs past the end of the PDU")
        setattr(self, field_name, bytes(data[pos:pos + length]))
        return data, pos + length

    def parse_optional_params(self, data):
        pos = 0
        while pos < len(data):
            if pos + _TLV_HEADER.size > len(data):
                raise PDUError(f"{self.command}: truncated TLV header")
            tag, length = _TLV_HEADER.unpack_from(data, pos)
            pos += _TLV_HEADER.size
            if pos + length > len(data):
                raise PDUError(f"{self.command}: TLV 0x{tag:04x} runs past the end")
            name = _TLV_NAMES.get(tag)
            param = self.params.get(name) if name else None
            if param is not None:
                self._parse_tlv(name, param, data[pos:pos + length])
            pos += length

    def _parse_tlv(self, name, param, value):
        if param.type is int:
            if len(value) != param.size:
                raise PDUError(f"{self.command}: TLV {name} has length {len(value)}, "
                               f"expected {param.size}")
            setattr(self, name, int.from_bytes(value, "big"))
        elif param.type is str:
            self._parse_string(name, value, 0, len(value))
        elif param.type is ostr:
            setattr(self, name, bytes(value))
        # flag TLVs (alert_on_message_delivery) carry no value to keep.


_TLV_NAMES = {code: name for name, code in consts.OPTIONAL_PARAMS.items()}


def _checked(base):
    return type(base.__name__, (_CheckedParsing, base), {})


class _DeliverSM(_CheckedParsing, smpp_command.DeliverSM):
    """DeliverSM that also knows ussd_service_op (USSD over SMPP)."""

    params = {
        **smpp_command.DeliverSM.params,
        "ussd_service_op": smpp_command.Param(type=int, size=1),
    }
    params_order = smpp_command.DeliverSM.params_order + ("ussd_service_op",)


_CLASSES = {
    "bind_transmitter": _checked(smpp_command.BindTransmitter),
    "bind_transmitter_resp": _checked(smpp_command.BindTransmitterResp),
    "bind_receiver": _checked(smpp_command.BindReceiver),
    "bind_receiver_resp": _checked(smpp_command.BindReceiverResp),
    "bind_transceiver": _checked(smpp_command.BindTransceiver),
    "bind_transceiver_resp": _checked(smpp_command.BindTransceiverResp),
    "generic_nack": _checked(smpp_command.GenericNAck),
    "submit_sm": _checked(smpp_command.SubmitSM),
    "submit_sm_resp": _checked(smpp_command.SubmitSMResp),
    "deliver_sm": _DeliverSM,
    "deliver_sm_resp": _checked(smpp_command.DeliverSMResp),
    "data_sm": _checked(smpp_command.DataSM),
    "data_sm_resp": _checked(smpp_command.DataSMResp),
    "query_sm": _checked(smpp_command.QuerySM),
    "query_sm_resp": _checked(smpp_command.QuerySMResp),
    "unbind": _checked(smpp_command.Unbind),
    "unbind_resp": _checked(smpp_command.UnbindResp),
    "enquire_link": _checked(smpp_command.EnquireLink),
    "enquire_link_resp": _checked(smpp_command.EnquireLinkResp),
    "alert_notification": _checked(smpp_command.AlertNotification),
}
_NAMES = {command_codes.commands[name]: name for name in _CLASSES}


def pdu_length(buffer: bytes) -> int | None:
    """The command_length at the head of ``buffer``, once 4 bytes are in.

    Raises a fatal `PDUError` for a length no PDU can have, since the
    stream can then no longer be split into PDUs.
    """
    if len(buffer) < 4:
        return None
    (length,) = struct.unpack_from(">L", buffer)
    if length < HEADER_LENGTH or length > MAX_PDU_LENGTH:
        raise PDUError(f"impossible command_length {length}", fatal=True)
    return length


def decode(data: bytes) -> Pdu:
    """Read exactly one PDU from ``data``."""
    if len(data) < HEADER_LENGTH:
        raise PDUError(f"PDU of {len(data)} octets is shorter than its header", fatal=True)
    length, command_id, status, sequence = _HEADER.unpack_from(data)
    if length != len(data):
        raise PDUError(f"command_length {length} but {len(data)} octets",
                       command_id=command_id, sequence=sequence, fatal=True)
    name = _NAMES.get(command_id)
    if name is None:
        raise PDUError(f"unknown command_id 0x{command_id:08x}", command_id=command_id,
                       sequence=sequence, status=Status.INVALID_COMMAND)
    pdu = _CLASSES[name](name, sequence=sequence, status=status, client=_NoSequenceSource())
    try:
        if len(data) > HEADER_LENGTH:
            pdu.parse_params(bytes(data[HEADER_LENGTH:]))
    except PDUError as error:
        error.command_id, error.sequence = command_id, sequence
        raise
    except Exception as error:  # smpplib may still raise anything; contain it here
        raise PDUError(f"{name}: unreadable body ({error.__class__.__name__})",
                       command_id=command_id, sequence=sequence) from None
    return Pdu(name, sequence, status, _values(pdu))


def _values(pdu) -> dict[str, Any]:
    values = {}
    for name in pdu.params_order:
        value = getattr(pdu, name, None)
        if value is not None and name != "sm_length":
            values[name] = value
    return values


def encode(pdu: Pdu) -> bytes:
    """The bytes of ``pdu``; raises `PDUError` for values that cannot be sent."""
    cls = _CLASSES.get(pdu.command)
    if cls is None:
        raise PDUError(f"cannot encode command {pdu.command!r}")
    unknown = set(pdu.params) - set(cls.params)
    if unknown:
        raise PDUError(f"{pdu.command} has no field {sorted(unknown)[0]!r}")
    obj = cls(pdu.command, sequence=pdu.sequence, status=pdu.status,
              client=_NoSequenceSource())
    obj.sequence, obj.status = pdu.sequence, pdu.status
    for name, value in pdu.params.items():
        setattr(obj, name, value)
    if pdu.status != Status.OK and pdu.is_response and not pdu.params:
        # An error response carries no body (SMPP 3.4 section 4.4.2: the
        # message_id of a failed submit_sm_resp "shall not be included").
        return _HEADER.pack(HEADER_LENGTH, command_codes.get_command_code(pdu.command),
                            pdu.status, pdu.sequence)
    for name, value in pdu.params.items():
        if isinstance(value, str) and not value.isascii():
            raise PDUError(f"{pdu.command}: {name} is not ASCII (SMPP C-octet strings are)")
        limit = getattr(cls.params[name], "max", None)
        if isinstance(value, str) and limit is not None and len(value) >= limit:
            # smpplib would cut it short; a truncated address is a wrong address.
            raise PDUError(f"{pdu.command}: {name} longer than {limit - 1} octets")
    short_message = pdu.params.get("short_message")
    if short_message is not None and len(short_message) > 254:
        raise PDUError(f"{pdu.command}: short_message of {len(short_message)} octets "
                       "(at most 254; use message_payload)")
    try:
        return obj.generate()
    except (struct.error, TypeError, ValueError, AttributeError) as error:
        raise PDUError(f"{pdu.command}: cannot encode ({error})") from None
