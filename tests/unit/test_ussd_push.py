"""A shop's request pushed to the member's phone: the push screen, its PDU per dialect, the wiring.

The menus: `Menus.pushed` opens the menu file's push screen (menus.push) with the request's values;
1 and 2 call approve_pushed / refuse_pushed with the request's reference and the step's key; the
screen fits in every language, has no way back, asks for no PIN and holds no code. The loader
checks the push screen like any other. The PDUs: hand-written hex of the USSR request the gateway
sends for the shipped approval screen in each dialect that can push, the phone's answer in that
session, and the gateway's last screen. The wiring: `[ussd] push_bind` must name a bind whose
dialect can start a session.
"""

from __future__ import annotations

import copy
import tomllib
from dataclasses import replace

import pytest
from test_codec import h
from test_ussd_dialects import _SUBMIT_HEAD, deliver_sm, make, submit_sm

from gateway.config import ConfigError, load as load_config
from gateway.smpp.codec import decode
from gateway.ussd import menu
from gateway.ussd.actions import PUSHED
from gateway.ussd.menu import Menus
from gateway.ussd.screens import End, Screen, fits
from gateway.ussd.testing import FakeActions
from gateway.ussd.tree import MenuError
from gateway.ussd_sending import ScreenSender
from gateway.ussd_wiring import _approval_push

TREE = menu.load()
JANE = "254712345678"
REQUEST = {"approval": "R8K2P", "shop": "Shop Li", "agent": "A1023", "quantity": 2,
           "item_name": "Rice 5kg", "total": 1000}


def pushed(language="en", actions=None, request=REQUEST):
    menus = Menus(TREE, actions or FakeActions())
    return menus, *menus.pushed(JANE, language, request, "push:main:255:1.000")


# --- the push screen ------------------------------------------------------------------------------

@pytest.mark.parametrize("language", TREE.languages)
def test_the_push_screen_fits_and_shows_the_request_in_every_language(language):
    _, state, screen = pushed(language)
    assert isinstance(screen, Screen) and not screen.secret and not screen.shortened
    assert fits(screen.text, TREE.limits)
    for shown in ("Shop Li", "A1023", "1,000", "\n1 ", "\n2 "):
        assert shown in screen.text
    assert TREE.text("nav", language) not in screen.text   # nowhere to go back to
    assert (state.role, state.screen, state.language, state.step) == ("member", "push_approval",
                                                                      language, 0)
    assert dict(state.values) == REQUEST and set(state.values) == set(PUSHED)


@pytest.mark.parametrize(("answer", "called"), [("1", "approve_pushed"), ("2", "refuse_pushed")])
def test_one_key_answers_the_request_by_its_reference(answer, called):
    actions = FakeActions()
    menus, state, _ = pushed(actions=actions)
    after, screen = menus.advance(JANE, state.to_dict(), answer)
    assert after is None and isinstance(screen, End)
    assert actions.calls == [(called, JANE, "R8K2P", "push:main:255:1.000:1")]


def test_other_answers_keep_the_request_on_screen_or_go_home():
    actions = FakeActions()
    menus, state, first = pushed(actions=actions)
    again, screen = menus.advance(JANE, state.to_dict(), "7")
    assert again.screen == "push_approval" and screen.hint == "choice"
    back, screen = menus.advance(JANE, state.to_dict(), "0")
    assert back.screen == "push_approval" and screen.text == first.text
    home, screen = menus.advance(JANE, state.to_dict(), "00")
    assert home.screen == "member_home" and home.values == {}
    assert actions.calls == []


def test_a_push_needs_every_value_and_a_push_screen():
    with pytest.raises(ValueError, match="needs shop"):
        pushed(request={k: v for k, v in REQUEST.items() if k != "shop"})
    with pytest.raises(ValueError, match="needs total"):
        pushed(request={**REQUEST, "total": "1000"})
    data = copy.deepcopy(DATA)
    del data["menus"]["push"], data["screens"]["push_approval"]
    with pytest.raises(ValueError, match="no push screen"):
        Menus(menu.from_mapping(data), FakeActions()).pushed(JANE, "en", REQUEST, "d")


def test_a_long_shop_name_is_shortened_not_refused():
    _, _, screen = pushed("zh", request={**REQUEST, "shop": "非常长的商店名字" * 10})
    assert screen.shortened and fits(screen.text, TREE.limits)


# --- the loader -----------------------------------------------------------------------------------

DATA = tomllib.loads(menu.default_menu_path().read_text("utf-8"))


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["menus"].update(push="push_aproval"),
     'menus.push: no screen \'push_aproval\' (did you mean "push_approval"?)'),
    (lambda d: d["menus"].update(push="member_redeem_item"),
     "menus.push: the push screen is a menu"),
    (lambda d: d["screens"]["push_approval"]["options"][0].update(action="commission"),
     '"commission" is not for the member menu (members reach this screen from member_home or '
     "push_approval)"),
    (lambda d: d["screens"]["push_approval"].update(title="{reference}"),
     "screens.push_approval.title.en: {reference} is not known on this screen"),
    (lambda d: d["menus"].pop("push"),
     "screens.push_approval: no way leads here from a home screen (menus.home) or the push "
     "screen (menus.push)"),
])
def test_the_loader_checks_the_push_screen(change, message):
    data = copy.deepcopy(DATA)
    change(data)
    with pytest.raises(MenuError) as raised:
        menu.from_mapping(data, "ussd.toml")
    assert message in str(raised.value)


def test_the_pushed_actions_need_the_request():
    data = copy.deepcopy(DATA)
    data["screens"]["member_home"]["options"][0] = {"label": "x", "action": "approve_pushed"}
    with pytest.raises(MenuError, match='"approve_pushed" needs approval'):
        menu.from_mapping(data, "ussd.toml")


# --- the PDUs -------------------------------------------------------------------------------------

_APPROVAL_SCREEN = """
    6c                                                  # sm_length 108, GSM-7 unpacked:
    53 68 6f 70 20 4c 69 20 28 41 31 30 32 33 29 20     # Shop Li (A1023)
    61 73 6b 73 20 66 6f 72 20 32 20 78 20 52 69 63     # asks for 2 x Ric
    65 20 35 6b 67 3a 20 31 2c 30 30 30 20 70 74 73     # e 5kg: 1,000 pts
    20 66 72 6f 6d 20 79 6f 75 72 20 61 63 63 6f 75     #  from your accou
    6e 74 2e 20 4e 65 76 65 72 20 73 68 61 72 65 20     # nt. Never share
    79 6f 75 72 20 50 49 4e 2e 0a 31 20 41 70 70 72     # your PIN.\\n1 Appr
    6f 76 65 0a 32 20 52 65 66 75 73 65                 # ove\\n2 Refuse
"""
SMPP5_APPROVAL_PUSH = h(f"""
    000000ab                    # command_length 171 = 16 + 155
    {_SUBMIT_HEAD}
    {_APPROVAL_SCREEN}
    1383 0002 ff 00             # its_session_info: session 255 (the gateway's first pick), seq 0, end 0
    0501 0001 02                # ussd_service_op 2: USSR request, to a phone in no session
""")
SMPP5_APPROVAL_ANSWER = deliver_sm("00000040", """    # 64
    01 31                       # sm_length 1, "1": Approve
    1383 0002 ff 02             # session 255, the phone's sequence 1, end 0
    0501 0001 12                # ussd_service_op 18: USSR confirm
""")
SMPP5_APPROVAL_DONE = h(f"""
    00000043                    # command_length 67 = 16 + 51
    {_SUBMIT_HEAD}
    04 44 6f 6e 65              # sm_length 4, "Done"
    1383 0002 ff 05             # session 255, sequence 2, end 1
    0501 0001 11                # ussd_service_op 17: show and close, as every dialogue ends
""")
D15_APPROVAL_PUSH = h(f"""
    000000ab                    # command_length 171
    {_SUBMIT_HEAD}
    {_APPROVAL_SCREEN}
    1383 0002 ff fe             # its_session_info: dialogue 32767 << 1, end 0
    0501 0001 02                # ussd_service_op 2
""")
D15_APPROVAL_ANSWER = deliver_sm("00000040", """    # 64
    01 31                       # "1"
    1383 0002 ff fe             # dialogue 32767, end 0
    0501 0001 12                # ussd_service_op 18
""")
D15_APPROVAL_DONE = h(f"""
    00000043                    # command_length 67
    {_SUBMIT_HEAD}
    04 44 6f 6e 65              # "Done"
    1383 0002 ff ff             # dialogue 32767, end 1
    0501 0001 11                # ussd_service_op 17
""")
PUSHES = [("smpp5", SMPP5_APPROVAL_PUSH, SMPP5_APPROVAL_ANSWER, SMPP5_APPROVAL_DONE),
          ("dialogue15", D15_APPROVAL_PUSH, D15_APPROVAL_ANSWER, D15_APPROVAL_DONE)]


@pytest.mark.parametrize(("name", "push", "answer", "done"), PUSHES, ids=[p[0] for p in PUSHES])
def test_the_approval_push_its_answer_and_the_last_screen_on_the_wire(name, push, answer, done):
    chosen = make(name)
    _, _, screen = pushed()
    session, params = chosen.push(JANE, "123", screen.text, chosen.push_numbers - 1)
    assert submit_sm(2, params) == push
    event = chosen.parse(decode(answer).params)
    assert (event.kind, event.session.key, event.text) == ("continue", session.key, "1")
    assert submit_sm(2, chosen.reply(event.session, "Done", end=True)) == done


def test_umr_cannot_push():
    assert not make("umr").pushes


# --- the wiring -----------------------------------------------------------------------------------

class _Gateway:
    """What `_approval_push` reads of the gateway."""

    def __init__(self, config):
        self.config, self.db, self.reactor, self.binds = config, None, None, ()
        self.agency = type("Agency", (), {"push_approval": None})()
        self.now = None


def wired(dialect_name, push_bind):
    base = load_config()
    binds = tuple(replace(b, ussd_dialect=dialect_name) for b in base.binds)
    gateway = _Gateway(replace(base, binds=binds, ussd=replace(base.ussd, push_bind=push_bind)))
    dialects = {b.name: make(b.ussd_dialect) for b in binds if b.ussd_dialect}
    return gateway, _approval_push(gateway, Menus(TREE, None), dialects,
                                   ScreenSender({}, None, patience=1.0))


def test_push_is_off_by_default():
    assert load_config().ussd.push_bind == ""
    gateway, push = wired("smpp5", "")
    assert push is None and gateway.agency.push_approval is None


@pytest.mark.parametrize("name", ["smpp5", "dialogue15"])
def test_push_bind_hooks_the_agency(name):
    gateway, push = wired(name, "main")
    assert gateway.agency.push_approval is push
    assert push.code_for(JANE, "R8K2P") is None


@pytest.mark.parametrize(("dialect_name", "bind", "message"), [
    ("umr", "main", "ussd.push_bind: 'main' the umr dialect cannot start a session"),
    ("smpp5", "nosuch", "ussd.push_bind: 'nosuch' names no bind with a ussd_dialect"),
    ("", "main", "ussd.push_bind: 'main' names no bind with a ussd_dialect"),
])
def test_a_push_bind_that_cannot_push_stops_start_up(dialect_name, bind, message):
    with pytest.raises(ConfigError, match=message):
        wired(dialect_name, bind)


# --- the answer without the code -------------------------------------------------------------------

def test_a_process_without_the_code_asks_for_the_sms_and_runs_nothing():
    from gateway.ussd.actions import Caller
    from gateway.ussd_actions import CommandActions

    actions = CommandActions(None, None, member=None, short_code="123", region="KE",
                             default_language="en", request_id=0, now=None,
                             pushed_code=lambda msisdn, reference: None,
                             answer_by_sms=lambda language: Menus(TREE, None).end(
                                 language, "answer_by_sms").text)
    caller = Caller(JANE, "member", "es")
    assert actions.approve_pushed(caller, "R8K2P", "k") == TREE.text("answer_by_sms", "es")
    assert actions.refuse_pushed(caller, "R8K2P", "k") == TREE.text("answer_by_sms", "es")
