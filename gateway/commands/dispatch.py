"""One message in, one `Outcome` out: parse, choose the reply language, run the handler.

Start at `execute()`. This is the only entry point the pipeline calls, from a database worker
thread. It is pure apart from what `Services` does, so the pipeline can wrap it in its transaction
and replay it safely.

The reply language is chosen here, once, so every handler and every fallback reply agrees:
the member's stored language, else the keyword's language, else the script the text was written
in, else the operator's default. A language without templates is skipped rather than failing, so a
member stored as "fr" before French replies exist still gets an answer.
"""

from __future__ import annotations

from gateway.commands import replies
from gateway.commands.context import Invocation, Outcome, Reply, Request, Services, ServiceUnavailable
from gateway.commands.grammar import Command, KeywordTable, parse
from gateway.commands.member import HANDLERS, reply


def execute(
    request: Request, table: KeywordTable, services: Services, default_language: str
) -> Outcome:
    """Answer `request`. Raises only if `services` raises something other than ServiceUnavailable."""
    parsed = parse(request.text, table)
    language = reply_language(request, parsed.language, default_language)
    handler = HANDLERS.get(parsed.name) if isinstance(parsed, Command) else None
    if handler is None:
        # Includes a keyword the operator configured for a command this code does not have yet.
        return Outcome((_not_understood(request.text, table, language),), None, language, None)
    invocation = Invocation(request, parsed, language, table, services)
    try:
        answers = handler(invocation)
    except ServiceUnavailable:
        answers = (reply(language, "try_later"),)
    return Outcome(answers, parsed.name, language, _to_remember(request, parsed))


def reply_language(request: Request, heard: str | None, default_language: str) -> str:
    """The first language with templates among member's, heard, default, and the fallback."""
    member_language = request.member.language if request.member else None
    available = replies.languages()
    for candidate in (member_language, heard, default_language, replies.FALLBACK_LANGUAGE):
        if candidate in available:
            return candidate
    return available[0]


def _to_remember(request: Request, command: Command) -> str | None:
    """The keyword's language, for a member who has not shown one before."""
    member = request.member
    if member is not None and member.language is None:
        return command.language
    return None


def _not_understood(text: str, table: KeywordTable, language: str) -> Reply:
    return reply(
        language,
        "not_understood",
        text=text,
        bal=table.display("BAL", language),
        help=table.display("HELP", language),
    )
