"""`jifen demo --script scripts/demo-ussd.txt` on SQLite: USSD dialogues through the simulator's
phones, an SMS PIN first and a shop's RDM by SMS in between, every screen printed."""

import io
from pathlib import Path

from twisted.internet import defer, reactor
from twisted.trial import unittest

from gateway import demo
from gateway.config import load
from gateway.testing import in_scratch_directory

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "demo-ussd.txt"


class UssdDemoScript(unittest.TestCase):
    timeout = 60

    def setUp(self):
        in_scratch_directory(self)

    @defer.inlineCallbacks
    def test_the_script_answers_every_screen(self):
        out = io.StringIO()
        code = yield demo.run(reactor, load(), str(SCRIPT), out=out)
        printed = out.getvalue()
        self.assertEqual(code, 0, printed)
        self.assertIn("254712345678 <= [USSD]\n    Jifen Rewards\n    1 My balance", printed)
        self.assertIn("[USSD end]\n    Jifen: your balance is 1,350 pts.", printed)
        self.assertIn("Enter the code from our SMS to approve 500 pts for Shop Li:", printed)
        self.assertIn("you redeemed 1 x Rice 5kg for 500 pts at Shop Li. Balance 850.", printed)
        self.assertIn("254733000111 <- Jifen: Approved", printed)
        self.assertIn("Redeem 1 x Airtime 200 for 380 pts? Enter your PIN to confirm:", printed)
        self.assertRegex(printed, r"done: 1 x Airtime 200 for 380 pts")
        self.assertRegex(printed, r"done: 1 x Airtime 50 for 100 pts")
        self.assertIn("254733000111 <= [USSD]\n    Jifen Agent", printed)
        self.assertIn("commission earned 10 pts", printed)
        self.assertNotIn("1234\n", printed.split("PIN 1234", 1)[1].replace("-> 1234\n", ""))
