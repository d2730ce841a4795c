"""CAT, REDEEM, HIST and PIN through dispatch.execute, with plain values for Services."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pytest

from gateway import catalog
from gateway.commands import Balance, KeywordTable, Member, Request, execute
from gateway.commands.context import CatalogEntry, Movement, Redeemed, Refused
from gateway.commands.member_rewards import _in_alphabet, catalogue_pages
from gateway.commands.replies import fits, is_gsm, languages

ROOT = Path(__file__).resolve().parents[2]
TABLE = KeywordTable.load(ROOT / "config" / "keywords.toml")
SAMPLE = catalog.parse((ROOT / "config" / "catalog.toml").read_text(encoding="utf-8"))


def longest_item_name(language: str) -> str:
    """The longest sample item name as a reply in ``language`` would show it."""
    return max((_in_alphabet(item.name(language), language) for item in SAMPLE), key=len)


def entries(count: int, language: str = "en", category: str = "food") -> tuple[CatalogEntry, ...]:
    return tuple(CatalogEntry(f"ITEM{n}", f"Reward number {n}", category, "voucher", 1_250 + n)
                 for n in range(count))


@dataclass
class Rewards:
    """Services with a catalogue, a canned redemption result, history and PIN answers."""

    catalogue_entries: tuple = ()
    redeem_result: object = None
    movements: tuple = ()
    pin_result: Refused | None = None
    calls: list = field(default_factory=list)

    def points_balance(self, account_id: int) -> Balance:
        return Balance(1_350, 0)

    def set_opt_out(self, msisdn, opted_out):
        raise AssertionError("not here")

    def catalogue(self, language):
        self.calls.append(("catalogue", language))
        return self.catalogue_entries

    def redeem(self, member, item, quantity, pin, *, key, language, short_code):
        self.calls.append(("redeem", item, quantity, pin, key, language, short_code))
        return self.redeem_result

    def history(self, member, limit):
        return self.movements

    def set_pin(self, member, new_pin):
        self.calls.append(("set_pin", new_pin))
        return self.pin_result

    def change_pin(self, member, old_pin, new_pin):
        self.calls.append(("change_pin", old_pin, new_pin))
        return self.pin_result


JANE = Member(id=1, msisdn="254712345678", name="Jane", language="en", points_account=7)


def texts(text: str, services: Rewards, who: Member | None = JANE) -> list[str]:
    request = Request("254712345678", "10655", text, who, message_id=42)
    outcome = execute(request, TABLE, services, "en", region="KE")
    for reply in outcome.replies:
        assert fits(reply.text), reply.text
    return [reply.text for reply in outcome.replies]


# --- CAT ---------------------------------------------------------------------------------------

def test_cat_pages_fit_one_sms_each_cover_everything_once_and_say_how_to_go_on():
    services = Rewards(catalogue_entries=entries(12))
    first = texts("CAT", services)[0]
    assert first.startswith("Jifen rewards 1/") and first.endswith("More: CAT 2")
    total = int(first.split("/")[1].split(":")[0])
    assert total > 2
    pages = [texts(f"CAT {n}", services)[0] for n in range(1, total + 1)]
    assert pages[0] == first
    shown = [code for page in pages for code in ("ITEM" + w[4:] for w in page.split()
                                                  if w.startswith("ITEM"))]
    assert shown == [f"ITEM{n}" for n in range(12)]
    assert "1,250pts" in first                                   # digit grouping
    assert pages[-1].endswith("To redeem send REDEEM + code.")
    assert texts(f"CAT {total + 1}", services) == [
        f"Jifen: there is no page {total + 1}; the last is {total}. Send CAT for the first."]


def test_cat_by_category_pages_within_it():
    services = Rewards(catalogue_entries=entries(9, category="food") + entries(2, category="fun"))
    [fun] = texts("cat fun", services)
    assert fun.count("ITEM") == 2 and fun.startswith("Jifen rewards 1/1")
    food = texts("CAT FOOD", services)[0]
    assert food.endswith("More: CAT FOOD 2") and texts("CAT 2 food", services) == texts(
        "CAT FOOD 2", services)


def test_cat_unknown_category_lists_the_categories_and_an_empty_catalogue_says_so():
    services = Rewards(catalogue_entries=entries(1, category="food") + entries(1, category="fun"))
    assert texts("CAT toys", services) == [
        "Jifen: there is no such rewards list. Send CAT, or CAT + one of: food, fun."]
    assert texts("CAT", Rewards()) == [
        "Jifen: no rewards are available right now. Please try again later."]


def test_cat_is_open_to_strangers_and_runs_on_a_slip():
    services = Rewards(catalogue_entries=entries(1))
    assert texts("CATALGO", services, who=None)[0].startswith("Jifen rewards 1/1: ITEM0")


@pytest.mark.parametrize("language", languages())
def test_the_sample_catalogue_pages_fit_in_every_language(language):
    listed = tuple(CatalogEntry(i.code, i.name(language), i.category, i.kind, i.price * 1000)
                   for i in SAMPLE)
    pages = catalogue_pages(listed * 3, language, TABLE.display("CAT", language),
                            TABLE.display("REDEEM", language))
    assert len(pages) > 1 and all(fits(page) for page in pages)
    if language != "zh":
        assert all(is_gsm(page) for page in pages)              # "Lámpara" did not force UCS-2


def test_a_name_outside_the_alphabet_is_plain_in_latin_replies_and_kept_in_chinese():
    assert _in_alphabet("Lámpara solar", "es") == "Lampara solar"
    assert _in_alphabet("Crédit 50", "fr") == "Crédit 50"        # é is in the GSM alphabet
    assert _in_alphabet("太阳能灯", "zh") == "太阳能灯"
    assert _in_alphabet("太阳能灯", "en") == "????"


# --- REDEEM ------------------------------------------------------------------------------------

def redeemed(**changes) -> Redeemed:
    values = dict(reference="R8K2P", code="MOVIE", item="Cinema ticket", kind="voucher",
                  quantity=1, points=600, state="completed", voucher_codes=("ABCDEFGHJK",))
    return Redeemed(**{**values, **changes})


def test_redeem_passes_the_message_key_and_the_pin_and_sends_the_voucher_code():
    services = Rewards(redeem_result=redeemed())
    assert texts("REDEEM movie 1234", services) == [
        "Jifen: R8K2P done: 1 x Cinema ticket for 600 pts. Voucher: ABCDEFGHJK"]
    [(_, item, quantity, pin, key, language, short_code)] = services.calls
    assert (item, quantity, pin, key, language, short_code) == (
        "MOVIE", 1, "1234", "mo:42:redeem", "en", "10655")
    assert repr(pin) == "'****'"


def test_many_voucher_codes_follow_in_as_few_sms_as_fit():
    codes = tuple(f"C{n:09d}" for n in range(10))
    services = Rewards(redeem_result=redeemed(quantity=10, points=6000, voucher_codes=codes))
    first, *rest = texts("REDEEM MOVIE 10 1234", services)
    assert first == "Jifen: R8K2P done: 10 x Cinema ticket for 6,000 pts. Your voucher codes follow."
    assert len(rest) == 1 and all(code in rest[0] for code in codes)


@pytest.mark.parametrize(("result", "expected"), [
    (redeemed(kind="airtime", item="Airtime 50", voucher_codes=()),
     "Jifen: R8K2P done: 1 x Airtime 50 for 600 pts. The top-up is on its way to this phone."),
    (redeemed(state="processing", voucher_codes=()),
     "Jifen: R8K2P: 1 x Cinema ticket for 600 pts is being processed. We will SMS you when it is "
     "done."),
    (redeemed(voucher_codes=()), "Jifen: R8K2P done: 1 x Cinema ticket for 600 pts."),
])
def test_redeem_confirmations(result, expected):
    assert texts("REDEEM MOVIE", Rewards(redeem_result=result)) == [expected]


REFUSALS = [
    (Refused("unknown_item"), "Jifen: there is no reward NOPE. Send CAT for the list."),
    (Refused("agent_only", {"item": "Rice 5kg"}),
     "Jifen: Rice 5kg is handed over at a Jifen shop. Ask the agent there to redeem it for you."),
    (Refused("not_on_sale", {"item": "Solar lamp"}),
     "Jifen: Solar lamp is not on sale now. Send CAT for what is."),
    (Refused("invalid_quantity", {"most": 10}), "Jifen: you can redeem 1 to 10 at a time."),
    (Refused("sold_out", {"item": "Cinema ticket"}),
     "Jifen: sorry, Cinema ticket is sold out. Send CAT for other rewards."),
    (Refused("over_limit", {"item": "Cinema ticket", "limit": 2, "left": 1}),
     "Jifen: Cinema ticket is limited to 2 per member. You can redeem 1 more."),
    (Refused("insufficient_points", {"item": "Cinema ticket", "points": 1200, "available": 1150}),
     "Jifen: 2 x Cinema ticket costs 1,200 pts and you have 1,150. Nothing was taken."),
    (Refused("pin_required"), "Jifen: add your PIN: REDEEM NOPE 2 + PIN."),
    (Refused("pin_not_set"), "Jifen: set a PIN first: send PIN + 4 to 6 digits of your choice."),
    (Refused("wrong_pin", {"attempts_left": 3}),
     "Jifen: wrong PIN. 3 tries left before redeeming is locked."),
    (Refused("pin_locked", {"minutes": 30}),
     "Jifen: too many wrong PINs. Redeeming is locked; try again in 30 min."),
    (Refused("ledger_refused", {"code": "account_closed"}),
     "Jifen: sorry, we could not complete this redemption. Nothing was taken."),
    (Refused("something_new"),
     "Jifen: sorry, we could not complete this redemption. Nothing was taken."),
    (Refused("not_a_member"),
     "This number is not registered with Jifen Rewards. Ask at any Jifen partner shop to join."),
]


@pytest.mark.parametrize(("refused", "expected"), REFUSALS, ids=[r.reason for r, _ in REFUSALS])
def test_every_refusal_has_its_reply(refused, expected):
    assert texts("REDEEM NOPE 2", Rewards(redeem_result=refused)) == [expected]


def test_a_name_too_long_for_the_reply_gives_way_to_the_code():
    long_name = "话" * 60
    refused = Refused("sold_out", {"item": long_name})
    chinese = Member(id=1, msisdn="8613800138000", name="Li", language="zh", points_account=7)
    [text] = texts("兑换 AIR50", Rewards(redeem_result=refused), who=chinese)
    assert "AIR50" in text and long_name not in text


def test_redeem_needs_a_member_and_never_runs_on_a_slip():
    services = Rewards(redeem_result=redeemed())
    assert "not registered" in texts("REDEEM MOVIE", services, who=None)[0]
    assert texts("REDEM MOVIE", services)[0].startswith("Did you mean REDEEM?")
    assert services.calls == []


# --- HIST --------------------------------------------------------------------------------------

def at(day: int) -> datetime:
    return datetime(2026, 12, day, 9, 30, tzinfo=timezone.utc)


def test_hist_shows_the_newest_movements_that_fit_with_the_balance():
    movements = (Movement(at(12), -1_200, "redeem", "R8K2P"), Movement(at(11), 600, "reverse",
                 "R7AAA"), Movement(at(1), 1_350, "issue", None),
                 Movement(at(1), -5, "agent_fee", None))
    assert texts("HIST", Rewards(movements=movements)) == [
        "Jifen history: 12/12 -1,200 redeemed R8K2P; 11/12 +600 refund R7AAA; 1/12 +1,350 "
        "earned; 1/12 -5 other. Balance 1,350 pts."]
    many = tuple(Movement(at(n + 1), -99_999, "redeem", f"R{n:04d}X") for n in range(5))
    [text] = texts("HIST", Rewards(movements=many))
    assert "R0000X" in text and "R0004X" not in text          # the oldest gave way


def test_hist_with_nothing_yet_and_in_chinese():
    assert texts("HIST", Rewards()) == ["Jifen: no points movements yet. Balance 1,350 pts."]
    chinese = Member(id=1, msisdn="8613800138000", name="Li", language="zh", points_account=7)
    [text] = texts("记录", Rewards(movements=(Movement(at(12), -600, "redeem", "R8K2P"),)),
                   who=chinese)
    assert text == "积分明细：12/12兑换-600 R8K2P。余额1,350分。"


# --- PIN ---------------------------------------------------------------------------------------

def test_pin_sets_a_first_pin_or_changes_it_and_never_echoes_it():
    services = Rewards()
    assert texts("PIN 4821", services) == [
        "Jifen: your PIN is set. Keep it secret and add it when you redeem."]
    assert texts("PIN 4821 975310", services) == ["Jifen: your PIN is changed. Keep it secret."]
    assert services.calls == [("set_pin", "4821"), ("change_pin", "4821", "975310")]


@pytest.mark.parametrize(("text", "refused", "expected"), [
    ("PIN 4821", Refused("pin_already_set"),
     "Jifen: you already have a PIN. To change it send PIN + old PIN + new PIN."),
    ("PIN 1111 4821", Refused("wrong_pin", {"attempts_left": 4}),
     "Jifen: wrong PIN. 4 tries left before redeeming is locked."),
    ("PIN 1111 4821", Refused("pin_not_set"),
     "Jifen: set a PIN first: send PIN + 4 to 6 digits of your choice."),
    ("PIN 1111 4821", Refused("pin_locked", {"minutes": 12}),
     "Jifen: too many wrong PINs. Redeeming is locked; try again in 12 min."),
])
def test_pin_refusals(text, refused, expected):
    [reply] = texts(text, Rewards(pin_result=refused))
    assert reply == expected and "4821" not in reply and "1111" not in reply


def test_a_malformed_pin_is_not_echoed_and_nothing_is_asked():
    services = Rewards()
    [reply] = texts("PIN 12", services)
    assert reply == "PIN needs a PIN of 4 to 6 digits. Example: PIN 1234"   # "12" not echoed
    assert services.calls == []
