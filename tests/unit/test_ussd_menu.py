"""The menu file and the dialogue state machine, driven with FakeActions.

First the shipped config/ussd.toml: it loads, and every screen reachable in every language, for
members and agents, fits its limit without cutting anything (an exhaustive walk with realistic
values). Then the loader's refusals, each naming the file and the key. Then dialogues: what each
leaf calls, navigation, hints, PIN handling, and the state as stored between answers.
"""

from __future__ import annotations

import copy
import json
import tomllib
from collections import deque

import pytest

from gateway.config import ConfigError
from gateway.ussd import menu
from gateway.ussd.actions import Entry
from gateway.ussd.menu import Menus
from gateway.ussd.screens import End, Limits, Screen, fits, is_gsm
from gateway.ussd.state import MenuState
from gateway.ussd.testing import GOOD_PIN, FakeActions
from gateway.ussd.tree import MenuError

TREE = menu.load()
DATA = tomllib.loads(menu.default_menu_path().read_text("utf-8"))
MEMBER, AGENT = "254712345678", "254700000001"
# One good answer per input kind, so a walk can get past every input screen.
GOOD_ANSWERS = {"msisdn": "0712345678", "item": "OIL2", "quantity": "20", "pin": GOOD_PIN,
                "reference": "R8K2P"}


def test_the_shipped_menus_have_both_roles_and_the_sms_languages():
    assert TREE.homes == {"member": "member_home", "agent": "agent_home"}
    assert TREE.languages == ("en", "zh", "sw", "fr", "es")
    assert TREE.limits == Limits(182, 80)


def all_texts(data):
    """(key, language, text) of every text in the menu file, as written."""
    tables = [("text", data["text"]), ("hints", data["hints"])]
    for sid, screen in data["screens"].items():
        for name in ("title", "prompt", "entry", "empty"):
            if name in screen:
                tables.append((f"screens.{sid}", {name: screen[name]}))
        for n, option in enumerate(screen.get("options", ())):
            tables.append((f"screens.{sid}.options[{n}]", {"label": option["label"]}))
    for where, table in tables:
        for name, text in table.items():
            for language in TREE.languages:
                yield f"{where}.{name}", language, text if isinstance(text, str) else text[language]


@pytest.mark.parametrize("language", [lang for lang in TREE.languages if lang != "zh"])
def test_latin_script_menus_stay_in_the_gsm_alphabet(language):
    # One letter outside it (a c cedilla, an o acute) sends the whole screen as UCS-2: 80, not 182.
    outside = [(key, text) for key, lang, text in all_texts(DATA)
               if lang == language and not is_gsm(text)]
    assert outside == []


# --- every screen fits ----------------------------------------------------------------------------

def walk(menus: Menus, role: str, language: str):
    """Every kind of (state, screen) reachable by any answer, breadth first.

    States count as the same when they are on the same screen and page with the same names of
    values gathered: which item or quantity was chosen does not change the screens' shape.
    """
    state, screen = menus.start(MEMBER, role, language, "walk")
    seen, queue, shown = set(), deque([state]), [(state, screen)]
    while queue:
        state = queue.popleft()
        spec = TREE.screens[state.screen]
        answers = ["0", "00", "98", "x", *map(str, range(1, 10))]
        if spec.input:
            answers.append(GOOD_ANSWERS[spec.input])
        for answer in answers:
            after, screen = menus.advance(MEMBER, state.to_dict(), answer)
            shown.append((after, screen))
            if after is not None:
                key = (after.screen, after.page, tuple(sorted(after.values)), after.back)
                if key not in seen:
                    seen.add(key)
                    queue.append(after)
    return shown


@pytest.mark.parametrize("language", TREE.languages)
@pytest.mark.parametrize("role", ["member", "agent"])
def test_every_screen_in_every_language_fits_with_realistic_values(role, language):
    shown = walk(Menus(TREE, FakeActions()), role, language)
    visited = {state.screen for state, _ in shown if state is not None}
    reachable = {sid for sid in TREE.screens if sid.startswith(role) or sid == "language"}
    assert visited == reachable
    for state, screen in shown:
        assert isinstance(screen, (Screen, End))
        assert fits(screen.text, TREE.limits), (state, screen.text)
        assert not screen.shortened, (state, screen.text)


def test_a_value_longer_than_its_sample_is_shortened_not_fatal():
    actions = FakeActions(catalogue_items=[("LONG", "Extra large family pack of " * 8, 99_999_999)])
    menus = Menus(TREE, actions)
    state, _ = menus.start(MEMBER, "member", "zh", "d")
    state, screen = menus.advance(MEMBER, state, "2")
    assert screen.shortened and fits(screen.text, TREE.limits)
    state, screen = menus.advance(MEMBER, state, "1")
    assert screen.shortened and fits(screen.text, TREE.limits) and "99,999,999" in screen.text


# --- the loader's refusals ------------------------------------------------------------------------

def load(data):
    return menu.from_mapping(data, "ussd.toml")


def changed(path: str, value):
    """The shipped document with `value` at dotted `path` (a list index is a number); None deletes."""
    data = copy.deepcopy(DATA)
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    target = data
    for part in parents:
        target = target[part]
    if value is None:
        del target[last]
    else:
        target[last] = value
    return data


@pytest.mark.parametrize("path, value, key, message", [
    ("screens.member_home.options.0.action", "balanse", "screens.member_home.options[0].action",
     'unknown action \'balanse\' .did you mean "balance"'),
    ("screens.member_home.options.1.goto", "member_catlogue", "screens.member_home.options[1].goto",
     'no screen \'member_catlogue\' .did you mean "member_catalogue"'),
    ("screens.member_home.title.zh", "积分奖励" * 20, "screens.member_home",
     "in zh, the screen takes 1.. of 80 UCS-2 characters"),
    ("screens.member_redeem_pin.prompt.sw", None, "screens.member_redeem_pin.prompt.sw",
     "no text in this language"),
    ("screens.member_redeem_pin.prompt.en", "Redeem {quantity} x {itme_name}?",
     "screens.member_redeem_pin.prompt.en",
     r'\{itme_name\} is not known on this screen .did you mean "item_name"'),
    ("screens.member_redeem_pin.prompt.en", "Redeem {0}?", "screens.member_redeem_pin.prompt.en",
     "not a plain"),
    ("screens.member_redeem_pin.next", "member_home", "screens.member_redeem_pin",
     "exactly one of next"),
    ("screens.member_catalogue.next", "member_redeem_pin", "screens.member_redeem_pin.action",
     '"redeem" needs quantity, which not every way'),
    ("screens.member_home.options.0.action", "commission", "screens.member_home.options[0].action",
     '"commission" is not for the member menu'),
    ("screens.member_home.options.3", {"label": "History", "goto": "member_home"}, "screens.member_history",
     "no way leads here"),
    ("screens.member_home.options.0.goto", "member_history", "screens.member_home.options[0]",
     "exactly one of goto"),
    ("screens.language.options.0.language", None, "screens.language.options[0]",
     "language goes with action"),
    ("screens.language.options.0.language", "de", "screens.language.options[0].language",
     "'de' is not one of menus.languages"),
    ("screens.member_home.colour", "red", "screens.member_home.colour", "unknown key"),
    ("screens.member_home.options", [{"label": "x", "action": "balance"}] * 10,
     "screens.member_home.options", "1 to 9 options"),
    ("samples.shop", None, "screens.member_approvals.entry.en", r"\{shop\} has no realistic value"),
    ("menus.limits", {"gsm7": 500}, "menus.limits", "USSD limits are 20 to 182"),
    ("menus.home", {"member": "member_home"}, "menus.home.agent", "required key is missing"),
    ("menus.default_language", "de", "menus.default_language", "not one of menus.languages"),
    ("menus.pin_max", 3, "menus.pin_max", "integer from 4 to 12"),
    ("text.nav", None, "text.nav", "required key is missing"),
    ("hints.pin.en", "PIN {secret}", "hints.pin.en", r"\{secret\} is not known"),
    ("screens.Bad-Id", {"title": "x", "options": []}, "screens.Bad-Id", "a screen id is"),
    ("screens.member_catalogue.list", "orders", "screens.member_catalogue.list", "unknown list 'orders'"),
])
def test_a_bad_menu_file_is_one_line_naming_the_key(path, value, key, message):
    with pytest.raises(MenuError, match=message) as raised:
        load(changed(path, value))
    assert raised.value.key == key
    assert str(raised.value).startswith(f"ussd.toml: {key}: ")
    assert "\n" not in str(raised.value)
    assert isinstance(raised.value, ConfigError)  # so the CLI shows it like any config problem


def test_a_file_that_is_not_toml_or_not_there_is_a_menu_error(tmp_path):
    bad = tmp_path / "ussd.toml"
    bad.write_text("[menus\n", "utf-8")
    with pytest.raises(MenuError, match=r"ussd.toml: invalid TOML"):
        menu.load(bad)
    bad.write_bytes(b"\xff\xfe")
    with pytest.raises(MenuError, match="not UTF-8"):
        menu.load(bad)
    with pytest.raises(MenuError, match="cannot read the menu file"):
        menu.load(tmp_path / "missing.toml")


def test_a_channel_with_a_smaller_budget_is_checked_when_it_starts():
    with pytest.raises(MenuError, match=r"ussd.toml: .*: in en, the screen takes \d+ of 60 GSM-7"):
        Menus(TREE, FakeActions(), Limits(60, 30))


# --- dialogues ------------------------------------------------------------------------------------

def run(answers, role="member", language="en", actions=None, msisdn=MEMBER):
    """Start a dialogue and give `answers`, storing the state as JSON between answers as the
    gateway will. Returns every screen and the actions."""
    actions = actions or FakeActions()
    menus = Menus(TREE, actions)
    state, screen = menus.start(msisdn, role, language, f"ussd:{msisdn}:9")
    screens = [screen]
    for answer in answers:
        assert state is not None, "the dialogue ended before all answers were given"
        stored = json.loads(json.dumps(state.to_dict()))
        state, screen = menus.advance(msisdn, stored, answer)
        screens.append(screen)
    return screens, actions


def test_balance_is_a_leaf_calling_the_balance_action():
    screens, _ = run(["1"])
    assert screens[0].text.startswith("Jifen Rewards\n1 My balance")
    assert screens[-1] == End("Jifen: your balance is 1,350 pts.")


def test_redeem_from_the_catalogue_with_pin_calls_redeem_once_with_a_key():
    screens, actions = run(["2", "2", "3", GOOD_PIN])
    assert screens[2].text.startswith("Cooking oil 2 litres: 450 pts each. How many? (1-20)")
    assert screens[3].text.startswith("Redeem 3 x Cooking oil 2 litres for 1,350 pts? Enter your PIN")
    assert screens[3].secret and not screens[2].secret
    assert actions.calls == [("redeem", MEMBER, "OIL2", 3, GOOD_PIN, f"ussd:{MEMBER}:9:4")]
    assert isinstance(screens[-1], End)


def test_an_action_whose_outcome_comes_later_says_it_will_come_by_sms():
    class Queued(FakeActions):
        def reverse(self, caller, reference, pin, key):
            super().reverse(caller, reference, pin, key)
            return ""                   # as the handlers answer while the ledger has not yet
    screens, actions = run(["5", "r8k2p", GOOD_PIN], role="agent", actions=Queued(),
                           msisdn=AGENT)
    assert screens[-1] == End("We are still working on it. You will get the result by SMS.")
    assert actions.calls[0][:3] == ("reverse", AGENT, "R8K2P")


def test_redeem_by_code_forgives_case_and_full_width_digits_and_hints_on_a_bad_code():
    screens, actions = run(["3", "nope!", "XYZ", "oil2", "２１", "２", GOOD_PIN])
    assert screens[2].text.startswith("Enter a code such as RICE5.\nEnter the reward code")
    assert screens[3].text.startswith("No reward has that code.\n")
    assert screens[5].text.startswith("Enter a number from 1 to 20.\n")
    assert actions.calls[0][:4] == ("redeem", MEMBER, "OIL2", 2)


def test_a_pin_is_never_kept_in_the_state_nor_echoed():
    pin = "907531"
    actions, menus = FakeActions(), None
    menus = Menus(TREE, actions)
    state, _ = menus.start(MEMBER, "member", "en", "d")
    seen = []
    for answer in ["2", "1", "2", "12", pin[:3], pin]:
        state, screen = menus.advance(MEMBER, state, answer)
        seen.append((state, screen))
    for state, screen in seen:
        assert pin not in screen.text and pin[:3] not in screen.text
        if state is not None:
            assert pin not in json.dumps(state.to_dict()) and pin not in repr(state)
    assert seen[4][1].text.startswith("Your PIN is 4 to 6 digits.\n")  # a short PIN: the hint
    assert actions.calls[0][-2] == pin


def test_the_state_repr_names_values_but_never_shows_them():
    menus = Menus(TREE, FakeActions())
    state, _ = menus.start(AGENT, "agent", "en", "d")
    state, _ = menus.advance(AGENT, state, "1")
    state, _ = menus.advance(AGENT, state, "0722000111")
    assert "msisdn" in repr(state) and "0722000111" not in repr(state)


def test_back_goes_to_the_previous_page_then_screen_and_home_forgets_values():
    actions = FakeActions()
    menus = Menus(TREE, actions)
    state, home = menus.start(MEMBER, "member", "en", "d")
    state, page1 = menus.advance(MEMBER, state, "2")
    state, page2 = menus.advance(MEMBER, state, "98")
    assert "98 More" in page1.text and "98 More" not in page2.text and page1.text != page2.text
    state, again = menus.advance(MEMBER, state, "98")
    assert again.text.startswith("Invalid choice.\n")  # no page after the last
    state, back = menus.advance(MEMBER, state, "0")
    assert back == page1
    state, _ = menus.advance(MEMBER, state, "1")
    assert state.values["item"] == "RICE5"
    state, to_list = menus.advance(MEMBER, state, "0")
    assert to_list == page1
    state, _ = menus.advance(MEMBER, state, "1")
    state, to_home = menus.advance(MEMBER, state, "00")
    assert to_home == home and state.values == {} and state.back == ()
    state, still_home = menus.advance(MEMBER, state, "0")
    assert still_home == home


def test_an_entry_on_page_two_is_numbered_from_one():
    screens, actions = run(["2", "98", "3", "1", GOOD_PIN])
    assert actions.calls[0][2:4] == ("SOLAR", 1)


@pytest.mark.parametrize("answer", ["7", "x", "", "99", "1" * 500, "\x00", "-1", "٣", "🙂"])
def test_a_bad_choice_shows_the_same_screen_with_a_hint(answer):
    screens, _ = run([answer])
    assert screens[1] == Screen("Invalid choice.\n" + screens[0].text)


def test_approve_a_shops_request_with_pin_or_refuse_it():
    screens, actions = run(["5", "2", "1", GOOD_PIN])
    assert screens[1].text.startswith("Shops waiting for you:\n1 Shop Li: 2 x Rice 5kg\n2 Mama Njeri")
    assert screens[2].text.startswith("Mama Njeri Shop asks to redeem 20 x Cooking oil 2 litres for "
                                      "9,000 pts.\n1 Approve\n2 Refuse")
    assert screens[3].secret
    assert actions.calls == [("approve", MEMBER, "5930", GOOD_PIN, f"ussd:{MEMBER}:9:4")]
    screens, actions = run(["5", "1", "2", GOOD_PIN])   # refusing asks for the code too
    assert screens[3].secret
    assert actions.calls == [("refuse", MEMBER, "4821", GOOD_PIN, f"ussd:{MEMBER}:9:4")]


def test_a_request_approved_elsewhere_meanwhile_is_not_chosen():
    actions = FakeActions()
    menus = Menus(TREE, actions)
    state, _ = menus.start(MEMBER, "member", "en", "d")
    state, _ = menus.advance(MEMBER, state, "5")
    actions.approvals_waiting.pop(0)  # approved by SMS between the two screens
    state, screen = menus.advance(MEMBER, state, "1")
    assert screen.text.startswith("Invalid choice.\n1 Mama Njeri Shop")
    assert state.screen == "member_approvals"


def test_an_empty_list_says_so_and_leads_back():
    screens, _ = run(["5", "1", "0"], actions=FakeActions(approvals_waiting=[]))
    assert screens[1].text == "Shops waiting for you:\nNo shop is waiting for you.\n0 Back 00 Home"
    assert screens[2].text.startswith("Invalid choice.\n")
    assert screens[3].text.startswith("Jifen Rewards")


def test_the_history_is_read_not_chosen():
    screens, _ = run(["4", "1"])
    assert screens[1].text.startswith("Recent points:\n01/06 -150 Redeemed Rice 5kg\n02/06")
    assert screens[2].text.startswith("Invalid choice.\n01/06")


def test_language_is_set_for_the_member_and_menus_start_in_it():
    _, actions = run(["6", "2"])
    assert actions.calls == [("set_language", MEMBER, "zh")]
    screens, _ = run([], language="zh")
    assert screens[0].text.startswith("积分奖励\n1 积分余额")
    screens, _ = run([], language="de")  # no such menus: the default language
    assert screens[0].text.startswith("Jifen Rewards")


def test_an_agent_redeems_for_a_member():
    screens, actions = run(["1", "12", "0712345678", "1", "2", GOOD_PIN], role="agent", msisdn=AGENT)
    assert screens[0].text.startswith("Jifen Agent\n1 Redeem for a member")
    assert screens[2].text.startswith("Enter a phone number, e.g. 0712345678.\n")
    assert screens[5].text.startswith("Ask 0712345678 to approve 2 x Rice 5kg (1,000 pts)? Enter your")
    assert actions.calls == [("agent_redeem", AGENT, "0712345678", "RICE5", 2, GOOD_PIN,
                              f"ussd:{AGENT}:9:6")]


@pytest.mark.parametrize("answer, call", [("2", "commission"), ("3", "settlement"), ("4", "sales")])
def test_an_agent_sees_commission_settlement_and_sales(answer, call):
    screens, actions = run([answer], role="agent", msisdn=AGENT)
    assert actions.calls == [(call, AGENT)] and isinstance(screens[-1], End)


def test_an_agent_reverses_a_sale_by_reference():
    screens, actions = run(["5", "r8", "r8k2p", GOOD_PIN], role="agent", msisdn=AGENT)
    assert screens[2].text.startswith("Enter a reference such as R8K2P.\n")
    assert screens[3].text.startswith("Reverse sale R8K2P? Enter your agent PIN")
    assert actions.calls == [("reverse", AGENT, "R8K2P", GOOD_PIN, f"ussd:{AGENT}:9:4")]


def test_a_retried_answer_from_the_same_stored_state_gets_the_same_key():
    actions = FakeActions()
    menus = Menus(TREE, actions)
    state, _ = menus.start(MEMBER, "member", "en", "d")
    for answer in ["2", "1", "1"]:
        state, _ = menus.advance(MEMBER, state, answer)
    stored = state.to_dict()
    menus.advance(MEMBER, stored, GOOD_PIN)
    menus.advance(MEMBER, stored, GOOD_PIN)
    assert actions.calls[0] == actions.calls[1]


def test_when_the_ledger_does_not_answer_the_dialogue_ends_with_try_later():
    actions = FakeActions()
    menus = Menus(TREE, actions)
    state, _ = menus.start(MEMBER, "member", "zh", "d")
    actions.unavailable = True
    assert menus.advance(MEMBER, state, "1") == (None, End("抱歉，服务繁忙，请几分钟后再试。"))
    assert menus.advance(MEMBER, state, "2")[1] == End("抱歉，服务繁忙，请几分钟后再试。")
    with_start = Menus(TREE, actions)
    assert with_start.start(MEMBER, "member", "en", "d")[1].text.startswith("Jifen Rewards")


@pytest.mark.parametrize("stored", [
    None, {}, "x", {"v": 2}, {**MenuState("member", "en", "member_home", "d").to_dict(), "screen": "gone"},
    {**MenuState("member", "en", "member_home", "d").to_dict(), "role": "admin"},
    {**MenuState("member", "en", "member_home", "d").to_dict(), "language": "de"},
    {**MenuState("member", "en", "member_home", "d").to_dict(), "values": {"pin": "1234"}},
    {**MenuState("member", "en", "member_home", "d").to_dict(), "step": -1},
    {**MenuState("member", "en", "member_home", "d").to_dict(), "extra": 1},
    {**MenuState("member", "en", "member_catalogue", "d").to_dict(), "back": ["gone"]},
    {**MenuState("member", "en", "agent_home", "d").to_dict()},  # another role's screen
])
def test_a_state_that_cannot_be_read_ends_cleanly(stored):
    assert Menus(TREE, FakeActions()).advance(MEMBER, stored, "0") == (
        None, End("Your session has ended. Please dial again."))


@pytest.mark.parametrize("values", [{}, {"item": "RICE5", "quantity": "3"}])
def test_a_stale_state_without_what_the_action_needs_ends_without_calling_it(values):
    actions = FakeActions()
    stored = MenuState("member", "en", "member_redeem_pin", "d", values=values).to_dict()
    assert Menus(TREE, actions).advance(MEMBER, stored, GOOD_PIN) == (
        None, End("Your session has ended. Please dial again."))
    assert actions.calls == []


def test_the_gateways_own_last_screens_exist_in_every_language():
    menus = Menus(TREE, FakeActions())
    assert menus.end("zh", "by_sms") == End("正在处理，结果将以短信通知您。")
    assert menus.end("fr", "expired").text.startswith("Votre session")


def test_a_state_survives_json_unchanged():
    state = MenuState("agent", "sw", "agent_redeem_pin", "d", 4, ("agent_home",),
                      {"msisdn": "0712345678", "quantity": 2}, 1, ("A", "B"))
    assert MenuState.from_dict(json.loads(json.dumps(state.to_dict()))) == state


def test_a_screen_shared_by_both_roles_goes_back_to_each_ones_home():
    screens, _ = run(["6", "0"], role="agent", msisdn=AGENT)
    assert screens[2].text.startswith("Jifen Agent")
    with pytest.raises(ValueError, match="no menu for role 'admin'"):
        Menus(TREE, FakeActions()).start(MEMBER, "admin", "en", "d")


def test_entries_carry_only_the_values_their_list_names():
    actions = FakeActions(catalogue_items=[])
    actions.catalogue = lambda caller: [Entry("X", {"item_name": "Thing", "item_points": 5, "pin": "1",
                                                     "total": True})]
    screens, _ = run(["2", "1"], actions=actions)
    assert screens[2].text.startswith("Thing: 5 pts each")


def test_the_package_offers_its_public_names_as_the_very_objects():
    import gateway.ussd as ussd
    from gateway.ussd import dialects, http

    assert ussd.Menus is Menus and ussd.load is menu.load and ussd.MenuState is MenuState
    assert ussd.dialect is dialects.dialect and ussd.parse_form is http.parse_form
    assert all(hasattr(ussd, name) for name in ussd.__all__)
