"""USSD through an aggregator's HTTP callback: the request form in, "CON ..." / "END ..." out.

Start at `parse_form()`. Many operators reach applications through an aggregator that POSTs a form
for every step of a dialogue (the format Africa's Talking made common):

    sessionId=ATUid_0f1e...&serviceCode=*384*123#&phoneNumber=+254712345678&text=1*2

``text`` is every answer so far joined with "*" (empty on the first request), and the answer to the
request is plain text: "CON " and a screen to show and wait, or "END " and a last screen. Because
an answer may itself contain "*", the latest answer is found by `Callback.latest(seen)` against the
text seen on the previous step, which the caller keeps with the session; without it, the last
"*"-separated part is the best guess.

The body is hostile input: too big is a `CallbackError` with status 413, not a form or not UTF-8
is 400, a missing or malformed field is 400 naming the field. The reason is safe to send back: it
never echoes a value. The twisted.web resource (resource.py) adds the transport's own checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

__all__ = ["ANSWER_CONTENT_TYPE", "MAX_BODY", "Callback", "CallbackError", "parse_form", "render_answer"]

MAX_BODY = 4096  # bytes; a real callback is a few hundred
ANSWER_CONTENT_TYPE = b"text/plain; charset=utf-8"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
_MAX_FIELDS = 32

_FIELDS = {
    # form name: (attribute, pattern the value must match, what it should be)
    "sessionId": ("session_id", re.compile(r"[A-Za-z0-9_.:\-]{1,128}"),
                  "1 to 128 letters, digits or _ . : -"),
    "serviceCode": ("service_code", re.compile(r"[*#0-9]{1,32}"), "a USSD code such as *384*123#"),
    "phoneNumber": ("msisdn", re.compile(r"\+?[0-9]{6,15}"), "a phone number such as +254712345678"),
    "text": ("text", re.compile(r"[^\x00-\x1f\x7f]{0,1000}"),
             "the answers so far, at most 1000 characters without control characters"),
}


class CallbackError(ValueError):
    """A request to refuse: `status` is the HTTP status, `reason` a line safe to send back."""

    def __init__(self, status: int, reason: str):
        super().__init__(f"{status} {reason}")
        self.status, self.reason = status, reason


@dataclass(frozen=True)
class Callback:
    session_id: str
    service_code: str
    msisdn: str  # as sent ("+254712345678"); the caller normalises it like any MSISDN
    text: str  # every answer so far, joined with "*"

    def repeats(self, seen: str | None) -> bool:
        """The aggregator sent this step again (it timed out waiting): answer the same screen."""
        return seen is not None and self.text == seen

    def shortcut(self) -> tuple[str, ...]:
        """On a session's first request, the answers dialled with the code: the aggregator sends
        `*384*123*2*1#` as text "2*1", to be taken as "2" then "1" (`Menus.start`'s path)."""
        return tuple(part for part in self.text.split("*") if part)

    def latest(self, seen: str | None = None) -> str | None:
        """The answer this request brings, or None on the first request of a dialogue.

        `seen` is `text` from the previous request of the session (None if there was none).
        """
        if seen is None and self.text == "":
            return None
        if seen is not None and self.text.startswith(seen + "*"):
            return self.text[len(seen) + 1:]
        if seen == "" and self.text:
            return self.text
        return self.text.rsplit("*", 1)[-1]


def parse_form(body: bytes, content_type: str | None = FORM_CONTENT_TYPE,
               max_body: int = MAX_BODY) -> Callback:
    """Read the callback's urlencoded body; raises CallbackError with the status to answer."""
    if len(body) > max_body:
        raise CallbackError(413, f"body of {len(body)} bytes is over the limit of {max_body}")
    if content_type is not None and content_type.split(";")[0].strip().lower() != FORM_CONTENT_TYPE:
        raise CallbackError(415, f"expected a {FORM_CONTENT_TYPE} body")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body),
                          errors="strict", max_num_fields=_MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise CallbackError(400, "the body is not a UTF-8 urlencoded form") from None
    values: dict[str, str] = {}
    for name, value in pairs:
        if name in _FIELDS and name in values:
            raise CallbackError(400, f"field {name} is given twice")
        values[name] = value
    return Callback(**{attribute: _field(values, name) for name, (attribute, _, _) in _FIELDS.items()})


def _field(values: dict[str, str], name: str) -> str:
    _, pattern, expected = _FIELDS[name]
    if name not in values:
        raise CallbackError(400, f"missing field {name}")
    value = values[name].strip() if name != "text" else values[name]
    if not pattern.fullmatch(value):
        raise CallbackError(400, f"field {name} must be {expected}")
    return value


def render_answer(text: str, end: bool) -> bytes:
    """The response body: "CON <screen>" to wait for an answer, "END <screen>" to close."""
    return ("END " if end else "CON ").encode() + text.replace("\r", "").encode("utf-8")
