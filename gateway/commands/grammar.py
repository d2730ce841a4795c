"""Text of an SMS -> `Command` or `NotUnderstood`, driven by the operator's keyword table.

Start at `parse()`. A message is read in three steps, each a small function so that later needs
(typo tolerance, more scripts) replace one step rather than the whole reader:

1. `_fold`: NFKC folds full-width ASCII and the ideographic space, which Chinese phones send when
   the input method is left in full-width mode; then outer whitespace goes.
2. `_tokens`: trailing punctuation goes (people end SMS with "." or "。"), and the rest splits on
   whitespace, colons and commas.
3. `_match`: the first token is looked up in the `KeywordTable`, case-insensitively; failing that,
   the longest CJK keyword that prefixes it, because Chinese is written without spaces
   ("余额" alone, or "兑换RICE5" for a later REDEEM).

The keyword table is data, not code: operators rename and add keywords per language in
config/keywords.toml. `KeywordTable` refuses a file that would make a message ambiguous, with the
file and key in the error, because a bad table found at start-up is better than wrong replies.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# After NFKC "？，！" are already "?,!"; "。" has no ASCII fold and is listed itself.
_TRAILING_PUNCTUATION = re.compile(r"[\s.,!?。]+$")
_SEPARATORS = re.compile(r"[\s:,]+")
_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$")
_COMMAND_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")

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
class Command:
    name: str  # "BAL", "HELP", ...
    args: tuple[str, ...]  # as typed, after folding; handlers decide about case
    language: str  # the language of the keyword that matched
    keyword: str  # the keyword as written in the table, not as typed


@dataclass(frozen=True)
class NotUnderstood:
    text: str  # the message after folding and trimming, for logs and for echoing back
    language: str | None  # guessed from the script, or None when the script says nothing


@dataclass(frozen=True)
class _Entry:
    command: str
    language: str
    keyword: str


class KeywordTable:
    """Which keywords mean which command in which language; immutable once built.

    Build it with `load()` or `from_mapping()`: both validate. A runtime override is a new table
    built from a merged mapping, swapped in whole, so a reader never sees half an update.
    """

    def __init__(self, commands: Mapping[str, Mapping[str, tuple[str, ...]]], source: str):
        """Private: takes already validated data. Use `load()` or `from_mapping()`."""
        self.source = source
        self._commands = {name: dict(by_language) for name, by_language in commands.items()}
        self.commands: tuple[str, ...] = tuple(self._commands)
        self.languages: tuple[str, ...] = tuple(
            dict.fromkeys(lang for by_language in self._commands.values() for lang in by_language)
        )
        self._exact = _index(self._commands, self.languages, source)
        # Only keywords written wholly in CJK may be glued to what follows them.
        self._glued = {key: entries for key, entries in self._exact.items() if all(map(_is_cjk, key))}
        self._glued_lengths = sorted({len(key) for key in self._glued}, reverse=True)

    @classmethod
    def load(cls, path: str | Path) -> KeywordTable:
        """Read a TOML keyword file; any problem is a ValueError naming the file."""
        source = str(path)
        try:
            with open(path, "rb") as f:
                data = tomllib.load(f)
        except ValueError as e:  # TOMLDecodeError and UnicodeDecodeError are both ValueErrors
            raise ValueError(f"{source}: not a valid UTF-8 TOML file: {e}") from e
        return cls.from_mapping(data, source)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str = "<mapping>") -> KeywordTable:
        return cls(_validated(data, source), source)

    def keywords(self, command: str, language: str) -> tuple[str, ...]:
        """The keywords in config order; the first is the one replies show. Empty if none."""
        return self._commands.get(command, {}).get(language, ())

    def display(self, command: str, language: str) -> str:
        """The keyword to show for `command` in a reply in `language`.

        Falls back to the command's keyword in another language, then to its name, so a reply
        can always name it: any configured keyword is understood whatever the reader's language.
        """
        for lang in (language, *self.languages):
            found = self.keywords(command, lang)
            if found:
                return found[0]
        return command

    def _lookup(self, key: str) -> _Entry | None:
        entries = self._exact.get(key)
        return entries[0] if entries else None

    def _lookup_glued(self, head: str) -> tuple[_Entry, str] | None:
        for length in self._glued_lengths:
            entries = self._glued.get(_key(head[:length]))
            if entries:
                return entries[0], head[length:]
        return None


def parse(text: str, table: KeywordTable) -> Command | NotUnderstood:
    """Read one message. Never raises for any str: hostile text is just not understood."""
    folded = _fold(text)
    tokens = _tokens(folded)
    if not tokens:
        return NotUnderstood(folded, _guess_language(folded))
    matched = _match(tokens[0], table)
    if matched is None:
        return NotUnderstood(folded, _guess_language(folded))
    entry, rest = matched
    args = ((rest,) if rest else ()) + tuple(tokens[1:])
    return Command(entry.command, args, entry.language, entry.keyword)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def _strip_trailing(text: str) -> str:
    stripped = _TRAILING_PUNCTUATION.sub("", text)
    # "?" alone is a HELP keyword; punctuation is only trimmed when something is left.
    return stripped or text


def _tokens(folded: str) -> list[str]:
    body = _strip_trailing(folded)
    tokens = [token for token in _SEPARATORS.split(body) if token]
    if tokens:
        tokens[0] = _strip_trailing(tokens[0])  # "Bal. 5" as well as "Bal."
    return tokens


def _match(head: str, table: KeywordTable) -> tuple[_Entry, str] | None:
    """The keyword `head` starts with, and what is glued after it; None if there is none."""
    entry = table._lookup(_key(head))
    if entry is not None:
        return entry, ""
    return table._lookup_glued(head)


def _key(token: str) -> str:
    return token.casefold()


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in _CJK_RANGES)


def _guess_language(text: str) -> str | None:
    return "zh" if any(map(_is_cjk, text)) else None


# --- validation ----------------------------------------------------------------------------------


def _validated(data: Any, source: str) -> dict[str, dict[str, tuple[str, ...]]]:
    if not isinstance(data, Mapping):
        raise ValueError(f"{source}: expected a table at the top level")
    unknown = sorted(set(data) - {"commands"})
    if unknown:
        raise ValueError(f"{source}: unknown key {unknown[0]!r}; only [commands.NAME] tables belong here")
    commands = data.get("commands")
    if not isinstance(commands, Mapping) or not commands:
        raise ValueError(f"{source}: no commands; expected tables like [commands.BAL]")
    return {
        name: _validated_command(name, by_language, source) for name, by_language in commands.items()
    }


def _validated_command(name: Any, by_language: Any, source: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(name, str) or not _COMMAND_NAME.match(name):
        raise ValueError(f"{source}: commands.{name}: a command name is upper case, like BAL or HELP")
    if not isinstance(by_language, Mapping) or not by_language:
        raise ValueError(f"{source}: commands.{name}: expected language = [keywords], like en = [\"BAL\"]")
    result = {}
    for language, keywords in by_language.items():
        where = f"{source}: commands.{name}.{language}"
        if not isinstance(language, str) or not _LANGUAGE_CODE.match(language):
            raise ValueError(f"{where}: language code must be lower-case ISO 639, like 'en' or 'zh'")
        if not isinstance(keywords, (list, tuple)) or not keywords:
            raise ValueError(f"{where}: expected a non-empty list of strings, like [\"BAL\"]")
        result[language] = tuple(_validated_keyword(kw, f"{where}[{i}]") for i, kw in enumerate(keywords))
    return result


def _validated_keyword(keyword: Any, where: str) -> str:
    if not isinstance(keyword, str):
        raise ValueError(f"{where}: expected a string, got {type(keyword).__name__} {keyword!r}")
    folded = _fold(keyword)
    if not folded:
        raise ValueError(f"{where}: a keyword cannot be empty")
    # A keyword is only useful if a message consisting of just that keyword reads back as it.
    tokens = _tokens(folded)
    if len(tokens) != 1 or _key(tokens[0]) != _key(folded):
        raise ValueError(
            f"{where}: keyword {keyword!r} can never match: messages are split on spaces, colons "
            f"and commas and lose trailing punctuation, so it would be read as {' '.join(tokens)!r}"
        )
    return folded


def _index(
    commands: Mapping[str, Mapping[str, tuple[str, ...]]], languages: tuple[str, ...], source: str
) -> dict[str, tuple[_Entry, ...]]:
    """Map each folded keyword to its entries, in language order; refuse ambiguous tables."""
    index: dict[str, list[_Entry]] = {}
    for language in languages:
        for name, by_language in commands.items():
            for keyword in by_language.get(language, ()):
                entry = _Entry(name, language, keyword)
                for other in index.get(_key(keyword), ()):
                    _check_compatible(entry, other, source)
                index.setdefault(_key(keyword), []).append(entry)
    return {key: tuple(entries) for key, entries in index.items()}


def _check_compatible(new: _Entry, old: _Entry, source: str) -> None:
    where = f"{source}: commands.{new.command}.{new.language}"
    seen = f"commands.{old.command}.{old.language}"
    if new.command == old.command and new.language == old.language:
        raise ValueError(f"{where}: keyword {new.keyword!r} is listed twice (as {old.keyword!r})")
    if new.command != old.command and new.language == old.language:
        raise ValueError(
            f"{where}: keyword {new.keyword!r} conflicts with {seen}: "
            f"one keyword cannot mean both {old.command} and {new.command} in {new.language}"
        )
    if new.command != old.command:
        # A message does not say its language, so a keyword shared across languages must agree.
        raise ValueError(
            f"{where}: keyword {new.keyword!r} conflicts with {seen}: it would mean "
            f"{new.command} in {new.language} but {old.command} in {old.language}"
        )
