"""Keyword commands: SMS text in, replies out. Pure: no Twisted, no database.

The pipeline calls `execute()` with a `Request`, a `KeywordTable` loaded at start-up from
config/keywords.toml, and its own `Services`; it stores the `Outcome`. Read grammar.py for how
text becomes a command, dispatch.py for how a reply language is chosen, member.py for the
handlers, replies.py for the templates.
"""

from gateway.commands.context import (
    Balance,
    Member,
    Outcome,
    Reply,
    Request,
    Services,
    ServiceUnavailable,
)
from gateway.commands.dispatch import execute
from gateway.commands.grammar import Command, KeywordTable, NotUnderstood, parse

__all__ = [
    "Balance",
    "Command",
    "KeywordTable",
    "Member",
    "NotUnderstood",
    "Outcome",
    "Reply",
    "Request",
    "ServiceUnavailable",
    "Services",
    "execute",
    "parse",
]
