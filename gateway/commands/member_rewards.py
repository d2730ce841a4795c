"""The member's rewards: CAT (the catalogue), REDEEM, HIST (history) and PIN.

Each handler asks `Services` (the pipeline's, over gateway/catalog.py and gateway/redeem/) and
turns plain values into replies; none of them sees a database or a clock. What makes them more
than a template each is fitting one SMS: the catalogue is cut into pages that each fit (and the
page a member asks for is the same page every time, as long as the catalogue is), history keeps
the lines that fit, and a name too long for a reply is replaced by the item's code.

A PIN or a voucher code is passed on and shown to its owner, never logged: replies are text for
the outbox, and what the pipeline logs of them is ids and counts.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence

from gateway.commands.context import CatalogEntry, Invocation, Redeemed, Refused, Reply
from gateway.commands.handlers import members_only, reply, runs_on_typo
from gateway.commands.replies import TEMPLATES, fits, is_gsm, render

HISTORY_LINES = 5
_WIDEST_PAGE = "999"  # a page number as wide as any, for measuring pages before numbering them


# --- CAT [category] [page] ----------------------------------------------------------------------

@runs_on_typo
def catalogue(invocation: Invocation) -> tuple[Reply, ...]:
    """CAT, CAT 2, CAT FOOD, CAT FOOD 2: open to anyone, so a stranger sees what members get."""
    language, cat = invocation.language, invocation.table.display("CAT", invocation.language)
    entries = invocation.services.catalogue(language)
    if not entries:
        return (reply(language, "cat.empty"),)
    categories = sorted({entry.category for entry in entries})
    wanted = _topic(str(invocation.command.args.get("topic") or ""), categories)
    if wanted is None:
        return (Reply(_packed(categories, ", ", lambda listed: render(
            "cat.unknown", language, cat=cat, categories=listed))[0], language),)
    category, page = wanted
    shown = [entry for entry in entries if category is None or entry.category == category]
    command = f"{cat} {category.upper()}" if category else cat
    pages = catalogue_pages(shown, language, command,
                            invocation.table.display("REDEEM", language))
    if page > len(pages):
        return (reply(language, "cat.no_page", page=page, pages=len(pages), cat=command),)
    return (Reply(pages[page - 1], language),)


def _topic(topic: str, categories: Sequence[str]) -> tuple[str | None, int] | None:
    """(category or None, page) from the words after CAT; None if a word is neither."""
    category, page = None, 1
    for word in topic.split():
        if word.isdigit() and len(word) <= 3 and int(word) >= 1:
            page = int(word)
        elif word.lower() in categories and category is None:
            category = word.lower()
        else:
            return None
    return category, page


def catalogue_pages(entries: Sequence[CatalogEntry], language: str, command: str,
                    redeem: str) -> list[str]:
    """The catalogue cut into SMS, each as many items as fit, numbered "2/3", with the way on.

    Packed greedily in catalogue order, so page 2 is the same page on every request. A page is
    measured with the widest page numbers, then numbered; one item always makes a page.
    """
    lines = [render("cat.item", language, code=entry.code, price=entry.price,
                    label=_in_alphabet(entry.name, language)) for entry in entries]

    def page(items: list[str], number: str, total: str, more: bool) -> str:
        footer = (render("cat.more", language, next=f"{command} {number_after(number)}")
                  if more else render("cat.last", language, redeem=redeem))
        return render("cat.page", language, page=number, pages=total, footer=footer,
                      items=TEMPLATES[("cat.separator", language)].join(items))

    def number_after(number: str) -> str:
        return number if number == _WIDEST_PAGE else str(int(number) + 1)

    packed: list[list[str]] = []
    for at, line in enumerate(lines):
        trial = (packed[-1] if packed else []) + [line]
        more = at + 1 < len(lines)
        if packed and fits(page(trial, _WIDEST_PAGE, _WIDEST_PAGE, more)):
            packed[-1] = trial
        else:
            packed.append([line])
    total = str(len(packed))
    return [page(items, str(n), total, n < len(packed)) for n, items in enumerate(packed, 1)]


def _in_alphabet(name: str, language: str) -> str:
    """An item name kept to the GSM alphabet where replies are ("Lámpara" -> "Lampara"), so one
    accent does not turn a 160-character page into a 70-character one."""
    if not is_gsm(TEMPLATES[("cat.page", language)]) or is_gsm(name):
        return name
    plain = "".join(char for char in unicodedata.normalize("NFKD", name)
                    if not unicodedata.combining(char))
    return "".join(char if is_gsm(char) else "?" for char in plain)


# --- REDEEM <item> [qty] [PIN] ------------------------------------------------------------------

@members_only
def redeem(invocation: Invocation) -> tuple[Reply, ...]:
    """REDEEM: vouchers and airtime for the member's own points, once per message."""
    request, language, args = invocation.request, invocation.language, invocation.command.args
    assert request.member is not None  # members_only
    quantity = args.get("qty") or 1
    done = invocation.services.redeem(
        request.member, str(args["item"]), quantity, args.get("pin"),
        key=f"mo:{request.message_id}:redeem", language=language,
        short_code=request.short_code)
    if isinstance(done, Refused):
        return (refusal(invocation, done, item=str(args["item"]), qty=quantity),)
    return redeemed_replies(done, language)


def redeemed_replies(done: Redeemed, language: str) -> tuple[Reply, ...]:
    """The confirmation; the voucher codes in it, or after it when they do not fit one SMS."""
    values = dict(ref=done.reference, qty=done.quantity, item=done.item, points=done.points,
                  code=done.code)
    if done.state == "processing":
        return (_fitted(language, "redeem.processing", **values),)
    if done.kind == "airtime":
        return (_fitted(language, "redeem.airtime", **values),)
    if not done.voucher_codes:  # an earlier run of this message issued them, and said so
        return (_fitted(language, "redeem.done", **values),)
    whole = _fitted(language, "redeem.voucher", codes=" ".join(done.voucher_codes), **values)
    if fits(whole.text):
        return (whole,)
    follow = _packed(done.voucher_codes, " ",
                     lambda codes: render("redeem.codes", language, ref=done.reference,
                                          codes=codes))
    return (_fitted(language, "redeem.voucher.many", **values),
            *(Reply(text, language) for text in follow))


def refusal(invocation: Invocation, refused: Refused, **values: object) -> Reply:
    """The reply to any refusal of REDEEM or PIN, with the keywords to send next."""
    language, table = invocation.language, invocation.table
    if refused.reason == "not_a_member":
        return reply(language, "not_member")
    values.update(cat=table.display("CAT", language), pin=table.display("PIN", language),
                  redeem=table.display("REDEEM", language), code=values.get("item", ""))
    values.update(refused.details)
    name = f"refused.{refused.reason}"
    if (name, language) not in TEMPLATES:
        name = "refused.ledger_refused"  # a refusal added to the backend before its reply
    return _fitted(language, name, **values)


def _fitted(language: str, template: str, **values: object) -> Reply:
    """Render; if a long item name spills over one SMS, name the item by its code instead."""
    text = render(template, language, **values)
    if not fits(text) and "code" in values:
        text = render(template, language, **{**values, "item": values["code"]})
    return Reply(text, language)


def _packed(parts: Sequence[str], separator: str, render_one: Callable[[str], str]) -> list[str]:
    """``parts`` joined into as few messages as fit, each rendered by ``render_one``."""
    messages: list[list[str]] = []
    for part in parts:
        if messages and fits(render_one(separator.join(messages[-1] + [part]))):
            messages[-1].append(part)
        else:
            messages.append([part])
    return [render_one(separator.join(chunk)) for chunk in messages]


# --- HIST ---------------------------------------------------------------------------------------

@runs_on_typo
@members_only
def history(invocation: Invocation) -> tuple[Reply, ...]:
    """HIST: the last few movements that fit one SMS, newest first, and the balance."""
    member, language = invocation.request.member, invocation.language
    assert member is not None  # members_only
    services = invocation.services
    available = services.points_balance(member.points_account).available
    movements = services.history(member, HISTORY_LINES)
    if not movements:
        return (reply(language, "hist.empty", available=available),)
    lines = [render("hist.line", language, date=render(
        "hist.date", language, day=m.at.day, month=m.at.month),
        sign="+" if m.points > 0 else "-", points=abs(m.points),
        what=render(_what(m.what, language), language),
        ref=f" {m.reference}" if m.reference else "") for m in movements]
    separator = TEMPLATES[("hist.separator", language)]
    while len(lines) > 1 and not fits(_history_text(lines, separator, language, available)):
        lines.pop()  # the oldest goes first
    return (Reply(_history_text(lines, separator, language, available), language),)


def _what(code: str, language: str) -> str:
    name = f"hist.{code}"
    return name if (name, language) in TEMPLATES else "hist.other"


def _history_text(lines: list[str], separator: str, language: str, available: int) -> str:
    return render("hist", language, lines=separator.join(lines), available=available)


# --- PIN <new> | PIN <old> <new> ----------------------------------------------------------------

@members_only
def pin(invocation: Invocation) -> tuple[Reply, ...]:
    """PIN 4821 sets a first PIN; PIN 4821 9753 changes it. Neither PIN is ever echoed."""
    member, args = invocation.request.member, invocation.command.args
    assert member is not None  # members_only
    services = invocation.services
    if args.get("new_pin") is None:
        refused, done = services.set_pin(member, args["pin"]), "pin.set"
    else:
        refused, done = services.change_pin(member, args["pin"], args["new_pin"]), "pin.changed"
    if refused is not None:
        return (refusal(invocation, refused),)
    return (reply(invocation.language, done),)


HANDLERS = {"CAT": catalogue, "REDEEM": redeem, "HIST": history, "PIN": pin}
