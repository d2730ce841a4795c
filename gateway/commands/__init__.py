"""Keyword commands: SMS text in, replies out. Pure: no Twisted, no database.

The pipeline calls `execute()` with a `Request`, the current `KeywordTable` (config/keywords.toml
plus the operator's runtime changes), its own `Services`, the default language and the phone
region; it stores the `Outcome`. Read grammar.py for how text becomes a command (tokens.py cuts
words, table.py holds the keywords, arguments.py types what follows them), dispatch.py for how a
reply is chosen, member.py for the handlers, replies.py and locales/ for the templates.
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
from gateway.commands.grammar import BadArguments, Command, KeywordTable, NotUnderstood, describe, parse

__all__ = [
    "BadArguments",
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
    "describe",
    "execute",
    "parse",
]
