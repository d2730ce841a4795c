"""`jifen demo` turns on the push of shop requests: the member's phone shows the request as a USSD
screen, a menu choice from that phone answers it, and any other line still goes by SMS.

`with_push` (the config the demo runs) is checked on plain values; the demo itself runs a short
script on SQLite through the simulator, as test_ussd_demo.py does.
"""

import io
import os
from dataclasses import replace

import pytest
from twisted.internet import defer, reactor
from twisted.trial import unittest

from gateway import demo
from gateway.config import load
from gateway.testing import in_scratch_directory

PUSH = ("254712345678 <= [USSD push]\n    Shop Li (A1023) asks for 2 x Rice 5kg: 1,000 pts from "
        "your account. Never share your PIN.\n    1 Approve\n    2 Refuse\n")


def _config(dialect, push_bind=""):
    base = load()
    binds = tuple(replace(b, ussd_dialect=dialect) for b in base.binds)
    return replace(base, binds=binds, ussd=replace(base.ussd, push_bind=push_bind))


@pytest.mark.parametrize("dialect", ["smpp5", "dialogue15"])
def test_the_demo_pushes_on_the_first_bind_when_its_dialect_can(dialect):
    config = _config(dialect)
    assert demo.with_push(config).ussd.push_bind == config.binds[0].name


@pytest.mark.parametrize("dialect", ["umr", ""])
def test_no_push_where_the_dialect_cannot_start_a_session(dialect):
    assert demo.with_push(_config(dialect)).ussd.push_bind == ""


def test_a_configured_push_bind_is_kept():
    assert demo.with_push(_config("smpp5", "elsewhere")).ussd.push_bind == "elsewhere"


class PushDemo(unittest.TestCase):
    timeout = 60

    def setUp(self):
        self.script = os.path.join(in_scratch_directory(self), "push.txt")

    @defer.inlineCallbacks
    def play(self, *lines):
        with open(self.script, "w", encoding="utf-8") as script:
            script.write("\n".join(lines) + "\n")
        out = io.StringIO()
        code = yield demo.run(reactor, load(), self.script, out=out)
        printed = out.getvalue()
        self.assertEqual(code, 0, printed)
        return printed

    @defer.inlineCallbacks
    def test_the_member_sees_the_push_and_approves_it_with_one_key(self):
        printed = yield self.play("254733000111 RDM 0712345678 RICE5 2", "254712345678 1")
        self.assertIn(PUSH, printed)
        self.assertIn("254712345678 -> 1\n  254712345678 <= [USSD end]\n    Jifen: you redeemed "
                      "2 x Rice 5kg for 1,000 pts at Shop Li. Balance 350.", printed)
        self.assertNotIn("1951", printed.split("254712345678 -> 1\n", 1)[1])   # nor on screen

    @defer.inlineCallbacks
    def test_a_command_from_a_phone_showing_a_push_still_goes_by_sms(self):
        printed = yield self.play("254733000111 RDM 0712345678 RICE5 2", "254712345678 YES 1951")
        self.assertIn(PUSH, printed)
        self.assertIn("254712345678 -> YES 1951\n  254712345678 <- Jifen: you redeemed 2 x Rice "
                      "5kg for 1,000 pts at Shop Li. Balance 350.", printed)
