"""How the text of an SMS is cut into words: shared by the keyword table and the parser.

The table uses the same cutting to refuse a keyword that no message could ever match (one with a
space or a colon in it), so the two can never disagree about what a word is.

1. `fold`: NFKC turns full-width ASCII and the ideographic space, which Chinese phones send when
   the input method is left in full-width mode, into plain ASCII; then outer whitespace goes.
2. `words`: the text splits on whitespace, colons, commas, semicolons and the ideographic comma;
   each word loses the punctuation people put around words ("bal.", "“RICE5”", "余额。"). A word
   that is nothing but punctuation is dropped, except as the first word: "?" is a HELP keyword.

Each `Word` keeps where it started, so free text ("DISPUTE R8K2P the shop was shut") can be taken
as it was written rather than rebuilt from words.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# After NFKC "？，！：；" are already "?,!:;"; "。、" have no ASCII fold and are listed themselves.
_WORD = re.compile(r"[^\s:,;、]+")
_LEADING = re.compile(r"^[\"'“”‘’(\[<《「¿¡]+")
_TRAILING = re.compile(r"[.!?。\"'“”‘’)\]>》」]+$")
_BODY_TRAILING = re.compile(r"[\s.,!?。;:、\"'“”‘’)\]>》」]+$")

# Han ideographs and CJK punctuation. Kana and Hangul are left out on purpose: they would mean
# Japanese or Korean, not Chinese, when those languages arrive.
_CJK_RANGES = (
    (0x3000, 0x303F),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x20000, 0x2FA1F),
    (0x30000, 0x3134F),
)


@dataclass(frozen=True)
class Word:
    text: str  # folded, without surrounding punctuation, case as typed
    start: int  # offset in the folded message, for taking the rest of it as free text


def fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def key(word: str) -> str:
    """What two spellings of one keyword have in common: case does not matter."""
    return word.casefold()


def body(folded: str) -> str:
    """The message without the punctuation it ends with; kept whole if that is all it is."""
    return _BODY_TRAILING.sub("", folded) or folded


def words(folded: str) -> list[Word]:
    found = []
    for match in _WORD.finditer(body(folded)):
        raw = match.group()
        unled = _LEADING.sub("", raw)
        trimmed = _TRAILING.sub("", unled)
        if trimmed:
            found.append(Word(trimmed, match.start() + len(raw) - len(unled)))
        elif not found:
            # A first word of nothing but punctuation stays, so that "?" can mean HELP.
            found.append(Word(raw, match.start()))
    return found


def is_cjk(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in _CJK_RANGES)


def guess_language(text: str) -> str | None:
    return "zh" if any(map(is_cjk, text)) else None
