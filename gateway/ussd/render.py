"""The screens of the menu file as text: one `Painter` for live dialogues and for the start-up check.

Start at `Painter`. A screen is laid out as lines:

    [hint]            only after a bad answer: "Please choose one of the numbers shown."
    title or prompt   filled with the dialogue's values ("Redeem 2 x Rice 5kg for 1,000 pts?")
    1 option ...      menus: the options; lists: this page's entries, numbered from 1 on each page
                      (a list only to read, such as the history, is not numbered)
    98 More           lists with a further page
    0 Back 00 Home    every screen but a home

On a list the hint takes the title's place, so a page laid out without a hint still fits with one.
`check_fits` lays out every screen in every language with the menu file's sample values (and each
hint it may carry) and refuses the file if one would have to be cut; live dialogues use the same
code, which shortens a value that outgrew its sample instead of failing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from gateway.ussd.actions import Entry
from gateway.ussd.screens import Limits, compose, fill, fits, overflow, paginate, units
from gateway.ussd.tree import END_TEXTS, MenuError, MenuTree, ScreenSpec

__all__ = ["ListPage", "Painter", "check_fits"]

Values = Mapping[str, str | int]


@dataclass(frozen=True)
class ListPage:
    """One page of a list as shown: its text, the keys of its entries in order, and the paging."""

    text: str
    keys: tuple[str, ...]
    page: int
    pages: int
    shortened: bool


class Painter:
    """Lays out the screens of one menu tree in one language, within one channel's limits."""

    def __init__(self, tree: MenuTree, language: str, limits: Limits):
        self.tree, self.language, self.limits = tree, language, limits

    def menu(self, spec: ScreenSpec, values: Values, hint: str | None = None) -> tuple[str, bool]:
        values = self.with_constants(values)
        labels = [f"{n} {fill(option.label[self.language], values)[0]}"
                  for n, option in enumerate(spec.options, 1)]
        return self._lay_out(spec, [self._hint(hint)], spec.title, values, labels)

    def input(self, spec: ScreenSpec, values: Values, hint: str | None = None) -> tuple[str, bool]:
        return self._lay_out(spec, [self._hint(hint)], spec.title, self.with_constants(values), [])

    def list(self, spec: ScreenSpec, values: Values, entries: Sequence[Entry], page: int,
             hint: str | None = None) -> ListPage:
        """Page `page` of `entries` (clamped to the pages there are); the hint replaces the title."""
        values = self.with_constants(values)
        head = self._hint(hint) if hint else fill(spec.title[self.language], values)[0]
        if not entries:
            empty = fill(spec.empty[self.language], values)[0]
            text, shortened = compose([head, empty, self._nav(spec)], self.limits)
            return ListPage(text, (), 0, 1, shortened)
        lines = [fill(spec.entry[self.language], self.with_constants(e.values))[0] for e in entries]
        pages = paginate(lines, lambda shown, more: self._page_overflow(head, shown, more, spec) <= 0)
        page = min(max(page, 0), len(pages) - 1)
        start, end = pages[page]
        more = page + 1 < len(pages)
        shown = list(lines[start:end])
        shortened = False
        if self._page_overflow(head, shown, more, spec) > 0:  # one entry too long even alone
            shown, shortened = self._shorten_entries(spec, head, entries[start:end], more)
        text, cut = compose([self.page_text(spec, head, shown, more)], self.limits)
        return ListPage(text, tuple(e.key for e in entries[start:end]), page, len(pages), shortened or cut)

    def hint(self, name: str) -> str:
        return fill(self.tree.hints[name][self.language], self.tree.constants())[0]

    # --- layout ---------------------------------------------------------------------------------

    def _lay_out(self, spec: ScreenSpec, before: list[str], title: Mapping[str, str], values: Values,
                 after: list[str]) -> tuple[str, bool]:
        nav = self._nav(spec)

        def room(text: str) -> int:
            return overflow("\n".join(line for line in [*before, text, *after, nav] if line), self.limits)

        title_text, shortened = fill(title[self.language], values, room)
        text, cut = compose([*before, title_text, *after, nav], self.limits)
        return text, shortened or cut

    def page_text(self, spec: ScreenSpec, head: str, shown: Sequence[str], more: bool) -> str:
        """A list page from its head line (title or hint) and its entries, not yet fitted."""
        lines = [head, *_entry_lines(spec, shown), self._more(more), self._nav(spec)]
        return "\n".join(line for line in lines if line)

    def _page_overflow(self, head: str, shown: Sequence[str], more: bool, spec: ScreenSpec) -> int:
        return overflow(self.page_text(spec, head, shown, more), self.limits)

    def _shorten_entries(self, spec: ScreenSpec, head: str, entries: Sequence[Entry],
                         more: bool) -> tuple[list[str], bool]:
        template = spec.entry[self.language]
        shown = [fill(template, self.with_constants(e.values))[0] for e in entries]
        for n, entry in enumerate(entries):
            def room(text: str, n: int = n) -> int:
                return self._page_overflow(head, [*shown[:n], text, *shown[n + 1:]], more, spec)
            shown[n] = fill(template, self.with_constants(entry.values), room)[0]
        return shown, True

    def _hint(self, name: str | None) -> str:
        return self.hint(name) if name else ""

    def _nav(self, spec: ScreenSpec) -> str:
        # A pushed request opens on its screen: there is nowhere to go back to.
        is_home = spec.id in self.tree.homes.values() or spec.id == self.tree.push
        return "" if is_home else self.tree.text("nav", self.language)

    def _more(self, more: bool) -> str:
        return self.tree.text("more", self.language) if more else ""

    def with_constants(self, values: Values) -> dict[str, str | int]:
        return {**self.tree.constants(), **values}


def _entry_lines(spec: ScreenSpec, lines: Sequence[str]) -> list[str]:
    """Entries one can choose are numbered from 1 on each page; a list only to read is not."""
    if spec.next is None:
        return list(lines)
    return [f"{n} {line}" for n, line in enumerate(lines, 1)]


# --- the start-up check -------------------------------------------------------------------------

def check_fits(tree: MenuTree, limits: Limits | None = None) -> None:
    """Raise MenuError unless every screen, in every language, fits `limits` with the samples.

    A channel with a smaller budget than the file's `menus.limits` calls this again with its own.
    """
    limits = limits or tree.limits
    for language in tree.languages:
        samples = tree.samples[language]
        for name in END_TEXTS:
            _must_fit(tree, f"text.{name}", language, None, tree.text(name, language), limits)
        for spec in tree.screens.values():
            # Laid out without limits, so the message can say how much is too much.
            for hint, text in _layouts(Painter(tree, language, _UNLIMITED), spec, samples):
                _must_fit(tree, f"screens.{spec.id}", language, hint, text, limits)


_UNLIMITED = Limits(10**6, 10**6)


def _layouts(painter: Painter, spec: ScreenSpec, samples: Values) -> Iterator[tuple[str | None, str]]:
    if spec.kind == "menu":
        for hint in (None, "choice"):
            yield hint, painter.menu(spec, samples, hint)[0]
    elif spec.kind == "input":
        for hint in (None, spec.input, *(("item_unknown",) if spec.input == "item" else ())):
            yield hint, painter.input(spec, samples, hint)[0]
    else:
        # One entry beside the "More" line: the tightest page a list of these can have.
        entry = fill(spec.entry[painter.language], painter.with_constants(samples))[0]
        for hint in (None, "choice"):
            head = painter.hint(hint) if hint else fill(spec.title[painter.language], samples)[0]
            yield hint, painter.page_text(spec, head, [entry], more=True)
        yield None, painter.list(spec, samples, [], 0).text


def _must_fit(tree: MenuTree, key: str, language: str, hint: str | None, text: str,
              limits: Limits) -> None:
    if fits(text, limits):
        return
    used, gsm = units(text)
    budget = f"{limits.gsm7} GSM-7" if gsm else f"{limits.ucs2} UCS-2"
    with_hint = f' with the "{hint}" hint' if hint else ""
    raise MenuError(f"{tree.source}: {key}: in {language}{with_hint}, the screen takes {used} of "
                    f"{budget} characters with the sample values; shorten its texts", tree.source, key)
