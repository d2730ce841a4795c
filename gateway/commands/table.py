"""The operator's keyword table: which words mean which command, in which language, with what
arguments. Data, not code: it comes from config/keywords.toml plus the operator's runtime changes.

Build one with `KeywordTable.load()` or `KeywordTable.from_mapping()`; both refuse, with the file
and the key in a ValueError, a table that would make a message ambiguous, because a bad table
found when it is loaded is better than wrong replies:

- one keyword may not mean two commands, in one language or across languages (a message does not
  say which language it is in);
- the words of STOP and START (opting out of and back into promotions) and of YES and NO
  (confirming a redemption) belong to those commands alone: a member who sends STOP must never
  reach anything else, and a campaign keyword must never swallow a confirmation;
- STOP and START are matched only as the whole message, so they take no arguments.

A table is immutable. A runtime change builds a new table from `mapping()` plus the change, and
the gateway swaps it in whole, so a reader never sees half an update.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.commands import arguments
from gateway.commands.arguments import ArgSpec
from gateway.commands.tokens import fold, is_cjk, key, words

#: Commands whose words no other command may use, and what to call those words in errors.
PROTECTED: Mapping[str, str] = {
    "STOP": "an opt-out word",
    "START": "an opt-in word",
    "YES": "a confirmation word",
    "NO": "a confirmation word",
}
#: Matched only when the keyword is the whole message: "STOP" opts out, "stop the music" does not.
WHOLE_MESSAGE = frozenset({"STOP", "START"})
#: Shorter keywords are too close to other words for a one-letter slip to be guessed at.
TYPO_MIN_LENGTH = 4
MAX_KEYWORD_LENGTH = 32

_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$")
_COMMAND_NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,15}$")
_OPTIONS = ("args",)


@dataclass(frozen=True)
class Entry:
    command: str
    language: str
    keyword: str  # as written in the table


@dataclass(frozen=True)
class _Command:
    keywords: Mapping[str, tuple[str, ...]]  # language -> keywords, the shown one first
    grammar: tuple[ArgSpec, ...]


class KeywordTable:
    """Which keywords mean which command in which language, and the arguments each takes."""

    def __init__(self, commands: Mapping[str, _Command], source: str):
        """Private: takes already validated data. Use `load()` or `from_mapping()`."""
        self.source = source
        self._commands = dict(commands)
        self.commands: tuple[str, ...] = tuple(self._commands)
        self.languages: tuple[str, ...] = tuple(
            dict.fromkeys(lang for command in self._commands.values() for lang in command.keywords)
        )
        self._exact = _index(self._commands, self.languages, source)
        # Only keywords written wholly in CJK may be glued to what follows them.
        self._glued = {k: entries for k, entries in self._exact.items() if all(map(is_cjk, k))}
        self._glued_lengths = sorted({len(k) for k in self._glued}, reverse=True)
        self._typo_keys = [(k, e) for k, e in self._exact.items() if len(k) >= TYPO_MIN_LENGTH]

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

    def mapping(self) -> dict[str, Any]:
        """The table as `from_mapping` takes it, for building a changed table."""
        commands: dict[str, Any] = {}
        for name, command in self._commands.items():
            entry: dict[str, Any] = {}
            if command.grammar:
                entry["args"] = [str(spec) for spec in command.grammar]
            entry.update({lang: list(kws) for lang, kws in command.keywords.items()})
            commands[name] = entry
        return {"commands": commands}

    def keywords(self, command: str, language: str) -> tuple[str, ...]:
        """The keywords in table order; the first is the one replies show. Empty if none."""
        found = self._commands.get(command)
        return found.keywords.get(language, ()) if found else ()

    def grammar(self, command: str) -> tuple[ArgSpec, ...]:
        found = self._commands.get(command)
        return found.grammar if found else ()

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

    def example(self, command: str, keyword: str, region: str) -> str:
        """A message that runs `command` with `keyword`: "REDEEM RICE5 2", "RDM 0712123456 ..."."""
        return " ".join((keyword, *arguments.example(self.grammar(command), region)))

    def exact(self, word: str) -> Entry | None:
        entries = self._exact.get(key(word))
        return entries[0] if entries else None

    def glued(self, word: str) -> tuple[Entry, str] | None:
        """The longest CJK keyword `word` starts with, and what follows it ("兑换RICE5")."""
        for length in self._glued_lengths:
            entries = self._glued.get(key(word[:length]))
            if entries and len(word) > length:
                return entries[0], word[length:]
        return None

    def near(self, word: str) -> tuple[Entry, ...]:
        """The keywords of four letters or more that `word` is one slip away from."""
        typed = key(word)
        if len(typed) < TYPO_MIN_LENGTH - 1:
            return ()
        return tuple(entries[0] for k, entries in self._typo_keys if one_edit_apart(typed, k))


def one_edit_apart(a: str, b: str) -> bool:
    """b is a with one letter changed, added or dropped, or two neighbours swapped ("BLA")."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diffs = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diffs) == 1:
            return True
        i, j = diffs[0], diffs[-1]
        return len(diffs) == 2 and j == i + 1 and a[i] == b[j] and a[j] == b[i]
    shorter, longer = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(shorter) and shorter[i] == longer[i]:
        i += 1
    return shorter[i:] == longer[i + 1:]


# --- validation ----------------------------------------------------------------------------------


def _validated(data: Any, source: str) -> dict[str, _Command]:
    if not isinstance(data, Mapping):
        raise ValueError(f"{source}: expected a table at the top level")
    unknown = sorted(set(data) - {"commands"})
    if unknown:
        raise ValueError(f"{source}: unknown key {unknown[0]!r}; only [commands.NAME] tables belong here")
    commands = data.get("commands")
    if not isinstance(commands, Mapping) or not commands:
        raise ValueError(f"{source}: no commands; expected tables like [commands.BAL]")
    return {name: _validated_command(name, table, source) for name, table in commands.items()}


def _validated_command(name: Any, table: Any, source: str) -> _Command:
    if not isinstance(name, str) or not _COMMAND_NAME.match(name):
        raise ValueError(f"{source}: commands.{name}: a command name is upper case, like BAL or HELP")
    where = f"{source}: commands.{name}"
    if not isinstance(table, Mapping) or not set(table) - set(_OPTIONS):
        raise ValueError(f"{where}: has no keywords; expected language = [keywords], like en = [\"BAL\"]")
    grammar = _validated_grammar(table.get("args", []), f"{where}.args")
    if grammar and name in WHOLE_MESSAGE:
        raise ValueError(f"{where}.args: {name} is matched as the whole message, so it takes no arguments")
    keywords = {}
    for language, listed in table.items():
        if language in _OPTIONS:
            continue
        at = f"{where}.{language}"
        if not isinstance(language, str) or not _LANGUAGE_CODE.match(language):
            raise ValueError(f"{at}: language code must be lower-case ISO 639, like 'en' or 'zh'")
        if not isinstance(listed, (list, tuple)) or not listed:
            raise ValueError(f"{at}: expected a non-empty list of strings, like [\"BAL\"]")
        keywords[language] = tuple(_validated_keyword(kw, f"{at}[{i}]") for i, kw in enumerate(listed))
    return _Command(keywords, grammar)


def _validated_grammar(listed: Any, where: str) -> tuple[ArgSpec, ...]:
    if not isinstance(listed, (list, tuple)):
        raise ValueError(f"{where}: expected a list such as [\"item\", \"qty?\"]")
    try:
        grammar = tuple(arguments.parse_spec(text) for text in listed)
        arguments.check_grammar(grammar)
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None
    return grammar


def _validated_keyword(keyword: Any, where: str) -> str:
    if not isinstance(keyword, str):
        raise ValueError(f"{where}: expected a string, got {type(keyword).__name__} {keyword!r}")
    folded = fold(keyword)
    if not folded:
        raise ValueError(f"{where}: a keyword cannot be empty")
    if len(folded) > MAX_KEYWORD_LENGTH:
        raise ValueError(f"{where}: a keyword has at most {MAX_KEYWORD_LENGTH} characters")
    # A keyword is only useful if a message consisting of just that keyword reads back as it.
    read = words(folded)
    if len(read) != 1 or key(read[0].text) != key(folded):
        shown = " ".join(word.text for word in read)
        raise ValueError(
            f"{where}: keyword {keyword!r} can never match: messages are split on spaces, colons "
            f"and commas and lose the punctuation around words, so it would be read as {shown!r}"
        )
    return folded


def _index(
    commands: Mapping[str, _Command], languages: tuple[str, ...], source: str
) -> dict[str, tuple[Entry, ...]]:
    """Map each folded keyword to its entries, in language order; refuse ambiguous tables."""
    index: dict[str, list[Entry]] = {}
    for language in languages:
        for name, command in commands.items():
            for keyword in command.keywords.get(language, ()):
                entry = Entry(name, language, keyword)
                for other in index.get(key(keyword), ()):
                    _check_compatible(entry, other, source)
                index.setdefault(key(keyword), []).append(entry)
    return {k: tuple(entries) for k, entries in index.items()}


def _check_compatible(new: Entry, old: Entry, source: str) -> None:
    where = f"{source}: commands.{new.command}.{new.language}"
    seen = f"commands.{old.command}.{old.language}"
    if new.command == old.command and new.language == old.language:
        raise ValueError(f"{where}: keyword {new.keyword!r} is listed twice (as {old.keyword!r})")
    if new.command == old.command:
        return  # one command in two languages: "STOP" in English and French
    owner = old if old.command in PROTECTED else new if new.command in PROTECTED else None
    if owner is not None:
        other = new if owner is old else old
        raise ValueError(
            f"{source}: commands.{other.command}.{other.language}: keyword {other.keyword!r} is "
            f"{PROTECTED[owner.command]} (commands.{owner.command}.{owner.language}), "
            f"so {other.command} cannot use it"
        )
    if new.language == old.language:
        raise ValueError(
            f"{where}: keyword {new.keyword!r} conflicts with {seen}: "
            f"one keyword cannot mean both {old.command} and {new.command} in {new.language}"
        )
    raise ValueError(
        f"{where}: keyword {new.keyword!r} conflicts with {seen}: it would mean "
        f"{new.command} in {new.language} but {old.command} in {old.language}"
    )
