"""Text of an SMS -> `Command`, `BadArguments` or `NotUnderstood`, driven by the keyword table.

Start at `parse()`. A message is read in three steps, each small so that a later need replaces one
step rather than the whole reader:

1. tokens.py folds full-width forms and cuts the text into words, without the punctuation people
   put around them ("REDEEM:RICE5", "bal.", "ＢＡＬ").
2. `_match` finds the keyword the first word is: exactly, case-insensitively; else the longest
   Chinese keyword it starts with, because Chinese is written without spaces ("兑换RICE5 2");
   else a keyword of four letters or more that it is one slip away from ("BLANCE", "REDEME").
   A slip is only taken when it points at one command. Whether a command may then run on a guess
   is the handler's business (dispatch.py asks "Did you mean ...?" for anything that spends).
3. arguments.py reads the rest by the command's grammar into typed values, or says which argument
   is missing or wrong, so the reply can show an example instead of "not understood".

`parse` never raises for any str: hostile text is just not understood.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from gateway.commands import arguments
from gateway.commands.arguments import ArgumentError, Context, Secret
from gateway.commands.table import WHOLE_MESSAGE, Entry, KeywordTable
from gateway.commands.tokens import Word, body, fold, guess_language, words

__all__ = ["BadArguments", "Command", "KeywordTable", "NotUnderstood", "describe", "parse"]


@dataclass(frozen=True)
class Command:
    name: str  # "BAL", "REDEEM", ...
    args: Mapping[str, object] = field(default_factory=dict)  # typed, by the grammar's names
    language: str = ""  # the language of the keyword that matched
    keyword: str = ""  # the keyword as written in the table, not as typed
    typo: bool = False  # matched a keyword one slip away, not the keyword itself


@dataclass(frozen=True)
class BadArguments:
    """A keyword was found but what follows it does not fit its grammar."""

    name: str
    language: str
    keyword: str
    problem: str  # "missing", "invalid" or "extra"
    expected: str | None  # the type of the argument that is missing or wrong
    word: str  # the word as typed; "" when missing, or when it might be a PIN
    typo: bool = False


@dataclass(frozen=True)
class NotUnderstood:
    text: str  # the message after folding and trimming, for echoing back
    language: str | None  # guessed from the script, or None when the script says nothing


Parsed = Command | BadArguments | NotUnderstood


def parse(text: str, table: KeywordTable, region: str) -> Parsed:
    """Read one message; `region` is where phone numbers without a country code belong."""
    folded = fold(text)
    found = words(folded)
    matched = _match(found[0], table) if found else None
    if matched is None:
        return NotUnderstood(folded, guess_language(folded))
    entry, typo, rest = matched
    following = rest + found[1:]
    if entry.command in WHOLE_MESSAGE and following:
        return NotUnderstood(folded, guess_language(folded))
    context = Context(region=region, body=body(folded))
    try:
        values = arguments.read(table.grammar(entry.command), following, context)
    except ArgumentError as error:
        expected = error.spec.type if error.spec else None
        return BadArguments(entry.command, entry.language, entry.keyword, error.problem,
                            expected, error.word, typo)
    return Command(entry.command, MappingProxyType(values), entry.language, entry.keyword, typo)


def _match(head: Word, table: KeywordTable) -> tuple[Entry, bool, list[Word]] | None:
    """The keyword `head` is, whether it was a slip, and a word glued after it, if any."""
    entry = table.exact(head.text)
    if entry is not None:
        return entry, False, []
    glued = table.glued(head.text)
    if glued is not None:
        entry, rest = glued
        return entry, False, [Word(rest, head.start + len(head.text) - len(rest))]
    near = table.near(head.text)
    if near and len({candidate.command for candidate in near}) == 1:
        return near[0], True, []
    return None


def describe(parsed: Parsed) -> str:
    """One line for people: what `jifen keywords test` prints and what tests compare.

    "REDEEM(zh) item=RICE5 qty=2 pin=****", "BAL(en)~" (a slip), "REDEEM(en) missing item",
    "not understood (zh)". PINs and codes show as ****.
    """
    if isinstance(parsed, NotUnderstood):
        return "not understood" + (f" ({parsed.language})" if parsed.language else "")
    head = f"{parsed.name}({parsed.language})" + ("~" if parsed.typo else "")
    if isinstance(parsed, BadArguments):
        parts = [head, parsed.problem, parsed.expected or "", repr(parsed.word) if parsed.word else ""]
        return " ".join(part for part in parts if part)
    shown = [f"{name}={_shown(value)}" for name, value in parsed.args.items() if value is not None]
    return " ".join([head, *shown])


def _shown(value: object) -> str:
    if isinstance(value, Secret):
        return "****"
    if isinstance(value, str) and (not value or any(char.isspace() for char in value)):
        return repr(value)
    return str(value)
