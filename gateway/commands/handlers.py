"""What every handler module (member.py, later agent.py) builds on.

A handler takes an `Invocation` and returns its replies. It never picks a language (the dispatcher
did), never touches a database (it asks `Services`), and never catches `ServiceUnavailable` (the
dispatcher answers that uniformly). What the dispatcher must know about a handler besides calling
it is said by marking it here, next to the code that justifies it:

- `runs_on_typo`: a keyword one slip away ("BLANCE") may run it, because it changes nothing that
  matters. Unmarked handlers, and every one that spends points, get "Did you mean ...?" instead.
- `chooses_language`: its reply is written in the language the member just chose, which the
  pipeline then stores as theirs (LANG).
- `members_only`: a sender who is not registered gets `not_member` instead.
"""

from __future__ import annotations

from collections.abc import Callable

from gateway.commands.context import Invocation, Reply
from gateway.commands.replies import render

Handler = Callable[[Invocation], tuple[Reply, ...]]


def runs_on_typo(handler: Handler) -> Handler:
    handler.runs_on_typo = True  # type: ignore[attr-defined]
    return handler


def chooses_language(handler: Handler) -> Handler:
    handler.chooses_language = True  # type: ignore[attr-defined]
    return handler


def members_only(handler: Handler) -> Handler:
    def guarded(invocation: Invocation) -> tuple[Reply, ...]:
        if invocation.request.member is None:
            return (reply(invocation.language, "not_member"),)
        return handler(invocation)

    guarded.__name__ = handler.__name__
    guarded.__doc__ = handler.__doc__
    guarded.__dict__.update(handler.__dict__)  # keeps the other marks, whichever order they come in
    return guarded


def reply(language: str, template: str, **values: object) -> Reply:
    return Reply(render(template, language, **values), language)
