"""Handlers for the commands a member sends from their own phone: BAL, HELP, LANG, STOP, START
here; CAT, REDEEM, HIST and PIN in member_rewards.py.

Add a command by giving it keywords and an argument grammar in config/keywords.toml, writing a
handler here (or in its own module) that reads `invocation.command.args`, listing it in
`HANDLERS`, and giving it templates in every locales/ module. Until a command is listed it still
parses, and the dispatcher answers "not available yet".
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.commands.context import Invocation, Reply
from gateway.commands.grammar import BadArguments, Command, KeywordTable, parse
from gateway.commands.handlers import Handler, chooses_language, members_only, reply, runs_on_typo
from gateway.commands.member_rewards import HANDLERS as REWARDS
from gateway.commands.replies import TEMPLATES, menu, render


@runs_on_typo
@members_only
def balance(invocation: Invocation) -> tuple[Reply, ...]:
    """BAL: the member's available points, and what is held for pending redemptions."""
    member = invocation.request.member
    assert member is not None  # members_only
    points = invocation.services.points_balance(member.points_account)
    return (
        reply(invocation.language, "balance", available=points.available, on_hold=points.on_hold),
    )


@runs_on_typo
def help_(invocation: Invocation) -> tuple[Reply, ...]:
    """HELP, or HELP <keyword>: open to anyone, so a stranger can learn what the number is for."""
    topic = invocation.command.args.get("topic")
    about = _topic(str(topic), invocation) if topic else None
    if about is None:
        return (help_reply(invocation.table, invocation.language),)
    language, table = invocation.language, invocation.table
    keyword = table.display(about, language)
    return (
        reply(language, "help.command", keyword=keyword, about=render(f"about.{about}", language),
              example=table.example(about, keyword, invocation.region)),
    )


def _topic(topic: str, invocation: Invocation) -> str | None:
    """The command `topic` names by any of its keywords (or a slip of one), if we can explain it."""
    named = parse(topic, invocation.table, invocation.region)
    if not isinstance(named, (Command, BadArguments)):
        return None
    return named.name if (f"about.{named.name}", invocation.language) in TEMPLATES else None


def help_reply(table: KeywordTable, language: str) -> Reply:
    """The commands a member can use now, by the keywords the operator configured for `language`."""
    shown = {command: table.display(command, language) for command in table.commands
             if command in HANDLERS}
    return reply(language, "help", menu=menu(language, shown), help=table.display("HELP", language))


@runs_on_typo
@chooses_language
@members_only
def language(invocation: Invocation) -> tuple[Reply, ...]:
    """LANG <language>: answered in the language chosen, which is stored as the member's."""
    return (reply(str(invocation.command.args["language"]), "lang.set"),)


def stop(invocation: Invocation) -> tuple[Reply, ...]:
    """STOP: promotions off for this phone, member or not; replies to its own messages go on."""
    invocation.services.set_opt_out(invocation.request.msisdn, True)
    start = invocation.table.display("START", invocation.language)
    return (reply(invocation.language, "stop.done", start=start),)


def start(invocation: Invocation) -> tuple[Reply, ...]:
    """START: promotions back on for this phone."""
    invocation.services.set_opt_out(invocation.request.msisdn, False)
    stop_word = invocation.table.display("STOP", invocation.language)
    return (reply(invocation.language, "start.done", stop=stop_word),)


HANDLERS: Mapping[str, Handler] = {
    "BAL": balance,
    "HELP": help_,
    "LANG": language,
    "STOP": stop,
    "START": start,
    **REWARDS,  # CAT, REDEEM, HIST, PIN
}
