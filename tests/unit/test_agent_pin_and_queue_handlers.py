"""AGPIN's handler, and what the agent handlers answer when their batch is queued for the central
ledger (nothing at once: gateway/agency/queued.py sends the replies), with a fake Services."""

from __future__ import annotations

import pytest

from gateway import redaction
from gateway.commands.agent_values import Answered, Refusal, Reversed, Started
from test_agent_commands import TABLE, FakeServices, deal, run


class PinServices(FakeServices):
    def set_agent_pin(self, **kwargs):
        self.pin_call = kwargs
        return self.answers["pin"]

    def reverse_assisted(self, **kwargs):
        return self.answers["rev"]


@pytest.mark.parametrize(("text", "answer", "reply"), [
    ("AGPIN 2468", "set", "Jifen: your agent PIN is set. Add it at the end of every RDM. "
                          "Never share it."),
    ("AGPIN 2468 1357", "changed", "Jifen: your agent PIN is changed. Never share it."),
    ("AGPIN 2468", Refusal("pin_old_needed"),
     "Jifen: not done. Send AGPIN, your current PIN, then the new one."),
    ("AGPIN 2468 1357", Refusal("no_pin_yet"),
     "Jifen: not done. You have no agent PIN yet. Send AGPIN and the new PIN."),
    ("AGPIN 2468 1357", Refusal("wrong_pin"), "Jifen: not done. Wrong PIN."),
    ("AGPIN 2468 1357", Refusal("agent_locked", {"minutes": 30}),
     "Jifen: not done. Too many wrong PINs. Try again in 30 min."),
    ("AGPIN 2468", Refusal("not_agent"),
     "Jifen: not done. This phone is not a registered Jifen agent."),
])
def test_agpin_replies(text, answer, reply):
    services = PinServices(pin=answer)
    outcome = run(text, services)
    assert [r.text for r in outcome.replies] == [reply]
    first, *second = text.split()[1:]
    assert services.pin_call == {"agent_msisdn": "254733000111", "pin": first,
                                 "new_pin": second[0] if second else None}


def test_agpin_in_chinese_and_a_bad_pin_never_reach_the_service():
    services = PinServices(pin="set")
    assert "代理密码已设置" in run("代理密码 2468", services).replies[0].text
    services = PinServices(pin="set")
    outcome = run("AGPIN 12", services)
    assert not hasattr(services, "pin_call") and "AGPIN" in outcome.replies[0].text


@pytest.mark.parametrize("text", ["AGPIN 2468 1357", "agpin 2468", "代理密码 2468 1357",
                                  "AGPIN 12 34567890",
                                  "代理密码2468 1357"])
def test_the_inbox_keeps_agpin_with_its_pins_masked(text):
    kept = redaction.redact(text, TABLE, "KE")
    assert kept is not None and not any(pin in kept for pin in ("2468", "1357", "34567890"))


def test_queued_rdm_yes_and_rev_answer_nothing_at_once():
    services = PinServices(rdm=Started(deal=deal(), member_shown="x", code=None, queued=True),
                           answer=Answered(outcome="queued", deal=deal()),
                           rev=Reversed(deal=deal(), commission=35, queued=True))
    assert run("RDM 0712345678 RICE5 2", services).replies == ()
    assert run("YES 4821", services, sender="254712345678").replies == ()
    assert run("REV R8K2P", services).replies == ()
    assert services.sent == []                     # no prompt, no notice: queued.py sends them
