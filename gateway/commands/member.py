"""Handlers for the commands a member sends from their own phone: BAL and HELP so far.

A handler takes an `Invocation` and returns its replies; it never picks a language (the
dispatcher did), never touches a database (it asks `Services`), and never catches
`ServiceUnavailable` (the dispatcher answers that uniformly). Add a command by writing a handler,
listing it in `HANDLERS`, and giving it templates in replies.py; its keywords go in
config/keywords.toml.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from gateway.commands.context import Invocation, Reply
from gateway.commands.grammar import KeywordTable
from gateway.commands.replies import menu, render

Handler = Callable[[Invocation], tuple[Reply, ...]]


def members_only(handler: Handler) -> Handler:
    """Answer a sender who is not registered with `not_member` instead of running `handler`."""

    def guarded(invocation: Invocation) -> tuple[Reply, ...]:
        if invocation.request.member is None:
            return (reply(invocation.language, "not_member"),)
        return handler(invocation)

    guarded.__name__ = handler.__name__
    guarded.__doc__ = handler.__doc__
    return guarded


@members_only
def balance(invocation: Invocation) -> tuple[Reply, ...]:
    """BAL: the member's available points, and what is held for pending redemptions."""
    member = invocation.request.member
    assert member is not None  # members_only
    points = invocation.services.points_balance(member.points_account)
    return (
        reply(invocation.language, "balance", available=points.available, on_hold=points.on_hold),
    )


def help_(invocation: Invocation) -> tuple[Reply, ...]:
    """HELP: open to anyone, so a stranger can learn what the number is for."""
    return (help_reply(invocation.table, invocation.language),)


def help_reply(table: KeywordTable, language: str) -> Reply:
    """The help text, naming each command by the keyword the operator configured for `language`."""
    shown = {command: table.display(command, language) for command in table.commands}
    return reply(language, "help", menu=menu(language, shown))


def reply(language: str, template: str, **values: object) -> Reply:
    return Reply(render(template, language, **values), language)


HANDLERS: Mapping[str, Handler] = {
    "BAL": balance,
    "HELP": help_,
}
