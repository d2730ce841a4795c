"""One message in, one `Outcome` out: parse, choose the reply language, run the handler.

Start at `execute()`. This is the only entry point the pipeline calls, from a database worker
thread. It is pure apart from what `Services` does, so the pipeline can wrap it in its transaction
and replay it safely.

The reply language is chosen here, once, so every handler and every fallback reply agrees:
the member's stored language, else the keyword's language, else the script the text was written
in, else the operator's default. A language without templates is skipped rather than failing, so a
member stored as "de" before German replies exist still gets an answer.

Whatever the text, the sender gets a useful answer: the command's own, or which argument is
missing or wrong with an example, or "Did you mean ...?" for a slip in a keyword of a command that
must not run on a guess, or "not available yet" for a command whose handler is still to come, or
"not understood" with the keywords that work.
"""

from __future__ import annotations

from gateway.commands import masking, replies
from gateway.commands.context import Invocation, Outcome, Reply, Request, Services, ServiceUnavailable
from gateway.commands.grammar import BadArguments, Command, KeywordTable, NotUnderstood, parse
from gateway.commands.handlers import Handler, reply
from gateway.commands import agent, member

# Members' commands, and the agent network's (RDM ... and the member's YES, NO, DISPUTE).
HANDLERS = {**member.HANDLERS, **agent.HANDLERS}


def execute(
    request: Request, table: KeywordTable, services: Services, default_language: str, *, region: str
) -> Outcome:
    """Answer `request`. Raises only if `services` raises something other than ServiceUnavailable."""
    parsed = parse(request.text, table, region)
    language = reply_language(request, parsed.language, default_language)
    if isinstance(parsed, NotUnderstood):
        return Outcome((_not_understood(_echo(request.text, parsed, table), table, language),),
                       None, language, None)
    handler = HANDLERS.get(parsed.name)
    remember = _keyword_language(request, parsed)
    if handler is None:
        answers = (_not_available(parsed.name, table, language),)
    elif isinstance(parsed, BadArguments):
        answers = (_bad_arguments(parsed, table, language, region),)
    elif parsed.typo and not getattr(handler, "runs_on_typo", False):
        answers = (reply(language, "did_you_mean", keyword=parsed.keyword),)
    else:
        invocation = Invocation(request, parsed, language, table, services, region)
        answers, remember = _run(handler, invocation, remember)
    return Outcome(answers, parsed.name, answers[0].language if answers else language, remember)


def reply_language(request: Request, heard: str | None, default_language: str) -> str:
    """The first language with templates among member's, heard, default, and the fallback."""
    member_language = request.member.language if request.member else None
    available = replies.languages()
    for candidate in (member_language, heard, default_language, replies.FALLBACK_LANGUAGE):
        if candidate in available:
            return candidate
    return available[0]


def _run(handler: Handler, invocation: Invocation,
         remember: str | None) -> tuple[tuple[Reply, ...], str | None]:
    """The handler's replies, and the language to store: the one chosen with LANG, if any."""
    try:
        answers = handler(invocation)
    except ServiceUnavailable as unavailable:
        return (reply(invocation.language, unavailable.template),), remember
    if getattr(handler, "chooses_language", False) and invocation.request.member is not None:
        remember = answers[0].language
    return answers, remember


def _keyword_language(request: Request, parsed: Command | BadArguments) -> str | None:
    """The keyword's language, for a member who has not shown one before."""
    member = request.member
    if member is not None and member.language is None:
        return parsed.language
    return None


def _echo(text: str, parsed: NotUnderstood, table: KeywordTable) -> str:
    """What a reply may repeat of a message it did not understand: never a PIN ("PIM 1234")."""
    secret = masking.may_be_secret(parsed, parsed.text, table)
    return (secret and masking.masked(parsed.text, secret, table)) or text


def _not_understood(text: str, table: KeywordTable, language: str) -> Reply:
    return reply(
        language,
        "not_understood",
        text=text,
        bal=table.display("BAL", language),
        help=table.display("HELP", language),
    )


def _not_available(command: str, table: KeywordTable, language: str) -> Reply:
    return reply(language, "not_available", keyword=table.display(command, language),
                 help=table.display("HELP", language))


def _bad_arguments(parsed: BadArguments, table: KeywordTable, language: str, region: str) -> Reply:
    """Which argument is missing or wrong, with an example using the keyword the sender used."""
    values = dict(keyword=parsed.keyword, example=table.example(parsed.name, parsed.keyword, region))
    if parsed.problem == "extra":
        return reply(language, "args.extra", text=parsed.word, **values)
    assert parsed.expected is not None
    what = replies.render(f"arg.{parsed.expected}", language)
    if parsed.word:
        return reply(language, "args.invalid", text=parsed.word, what=what, **values)
    # Missing, or wrong but secret: a PIN is not echoed back.
    return reply(language, "args.missing", what=what, **values)
