"""Which words of a message may be a PIN or a confirmation code, and the message without them.

Used twice: by gateway/redaction.py, so the inbox keeps "PIN **** ****" rather than what was
typed, and by dispatch.py, so no reply echoes a secret back into the outbox. Both need the same
answer, or one would keep what the other hides.
"""

from __future__ import annotations

from typing import Callable

from gateway.commands.arguments import TYPES, Secret
from gateway.commands.grammar import BadArguments, Command, NotUnderstood, Parsed
from gateway.commands.table import KeywordTable, one_edit_apart
from gateway.commands.tokens import words

MASK = "****"

__all__ = ["MASK", "masked", "may_be_secret"]


def may_be_secret(parsed: Parsed, folded: str, table: KeywordTable) -> Callable[[str], bool] | None:
    """A test for the words to hide in ``folded`` (the message as `fold` left it); None: none.

    A command read whole hides exactly its secret values. One whose words did not fit a grammar
    that takes a secret hides every all-digit word, since any of them may be the PIN; so does a
    message not understood whose first word is a slip of such a command's keyword ("PIM 1234
    5678": too short for the reader to guess at, not too short to hold a PIN).
    """
    if isinstance(parsed, Command):
        hidden = {str(value) for value in parsed.args.values() if isinstance(value, Secret)}
        return hidden.__contains__ if hidden else None
    if isinstance(parsed, BadArguments) and takes_secret(table, parsed.name):
        return str.isdigit
    if isinstance(parsed, NotUnderstood) and _slip_of_a_secret_keyword(folded, table):
        return str.isdigit
    return None


def masked(folded: str, secret: Callable[[str], bool], table: KeywordTable) -> str | None:
    """``folded`` with every word ``secret`` picks written ****; None if it picks none.

    The first word may be a Chinese keyword with the first argument glued on ("密码1234"), as
    the grammar reads it (`KeywordTable.glued`): then only what follows the keyword is a word.
    """
    kept, end = [], 0
    for n, word in enumerate(words(folded)):
        start, text = word.start, word.text
        glued = table.glued(text) if n == 0 else None
        if glued is not None:
            text = glued[1]
            start += len(word.text) - len(text)
        if secret(text):
            kept += [folded[end:start], MASK]
            end = start + len(text)
    return "".join(kept) + folded[end:] if kept else None


def takes_secret(table: KeywordTable, command: str) -> bool:
    return any(TYPES[spec.type].secret for spec in table.grammar(command))


def _slip_of_a_secret_keyword(folded: str, table: KeywordTable) -> bool:
    found = words(folded)
    if not found:
        return False
    typed = found[0].text.upper()
    return any(one_edit_apart(typed, keyword.upper())
               for command in table.commands if takes_secret(table, command)
               for language in table.languages for keyword in table.keywords(command, language))
