"""Keywords end to end, written once and run on each database (test_keywords_runtime_*.py).

A real gateway bound over loopback TCP to the SMSC simulator, and the real `jifen` command line
against the same database, as an operator would use them side by side. The gateway polls for
keyword changes every 50 ms here; tests wait for the condition, never for a fixed time.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import replace
from pathlib import Path

from sqlalchemy import select
from twisted.internet import defer, reactor, threads

from conftest import write_config
from gateway.cli import main
from gateway.commands.grammar import describe, parse
from gateway.config import load
from gateway.store.models import members
from gateway.store.tables_keywords import opt_outs
from gateway.testing import LoopbackGateway
from gateway_cases import _tmpdir, _until, scratch_url

JANE, LI, STRANGER = "254712345678", "8613800138000", "254799999999"


class KeywordCases:
    database = "sqlite"
    timeout = 60

    def setUp(self):
        self.url = scratch_url(self)
        self.config_file = write_config(Path(_tmpdir(self)) / "gateway.toml", self.url)
        config = replace(load(), keywords_reload_interval=0.05)
        self.loop = LoopbackGateway(reactor, self.url, config=config)
        self.addCleanup(self.loop.stop)
        return self.loop.start()

    def jifen(self, *argv):
        """The command line in a thread, as a second process would be: (status, stdout, stderr)."""

        def run():
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                status = main(["--config", self.config_file, *argv])
            return status, out.getvalue(), err.getvalue()

        return threads.deferToThread(run)

    def understands(self, text):
        return describe(parse(text, self.loop.gateway.keywords.current(), "KE")) != "not understood"

    def rows(self, query):
        with self.loop.gateway.engine.connect() as conn:
            return conn.execute(query).all()

    @defer.inlineCallbacks
    def test_keyword_added_with_the_cli_is_understood_without_a_restart(self):
        gateway = self.loop.gateway
        mt = yield self.loop.exchange(JANE, "MYPTS")
        self.assertIn("did not understand", mt.text)
        status, out, _ = yield self.jifen("keywords", "add", "BAL", "en", "MYPTS", "--by", "ops")
        self.assertEqual(status, 0)
        self.assertIn("MYPTS now means BAL in en", out)
        yield _until(lambda: self.understands("mypts"))
        mt = yield self.loop.exchange(JANE, "mypts")
        self.assertIn("1,350 pts", mt.text)
        self.assertIs(self.loop.gateway, gateway)
        self.assertEqual(self.loop.simulator.bound, 1)  # the same bind all along
        status, out, _ = yield self.jifen("keywords", "history")
        self.assertIn("ops", out)
        self.assertIn("MYPTS", out)

    @defer.inlineCallbacks
    def test_a_removed_keyword_stops_working_without_a_restart(self):
        status, _, _ = yield self.jifen("keywords", "remove", "BAL", "en", "POINTS")
        self.assertEqual(status, 0)
        yield _until(lambda: describe(parse("points", self.loop.gateway.keywords.current(), "KE"))
                     == "BAL(fr)")
        mt = yield self.loop.exchange(JANE, "BALANCE")
        self.assertIn("1,350 pts", mt.text)

    @defer.inlineCallbacks
    def test_a_conflicting_keyword_is_refused_and_the_gateway_keeps_its_keywords(self):
        for argv, reason in [
            (("HELP", "en", "BAL"), "one keyword cannot mean both BAL and HELP in en"),
            (("BAL", "en", "STOP"), "'STOP' is an opt-out word"),
            (("REV", "en", "CANCEL"), "'CANCEL' is an opt-out word"),
            (("CAT", "sw", "NDIO"), "'NDIO' is a confirmation word"),
        ]:
            status, _, err = yield self.jifen("keywords", "add", *argv)
            self.assertEqual(status, 1)
            self.assertEqual(err.count("\n"), 1)
            self.assertIn("refused", err)
            self.assertIn(reason, err)
        status, out, _ = yield self.jifen("keywords", "history")
        self.assertEqual(out, "")
        mt = yield self.loop.exchange(JANE, "BAL")
        self.assertIn("1,350 pts", mt.text)
        mt = yield self.loop.exchange(JANE, "CANCEL")
        self.assertIn("no more promotional messages", mt.text)

    @defer.inlineCallbacks
    def test_stop_and_start_are_recorded_per_phone_and_replies_still_go_out(self):
        mt = yield self.loop.exchange(JANE, "STOP")
        self.assertIn("no more promotional messages", mt.text)
        self.assertEqual(self.rows(select(opt_outs.c.msisdn, opt_outs.c.opted_out)), [(JANE, True)])
        mt = yield self.loop.exchange(JANE, "BAL")  # her own request is still answered
        self.assertIn("1,350 pts", mt.text)
        mt = yield self.loop.exchange(STRANGER, "T")  # not a member: recorded all the same
        self.assertEqual(mt.text, "积分：已退订推广短信，您自己的查询照常回复。发送 订阅 可恢复。")
        yield self.loop.exchange(JANE, "START")
        self.assertEqual(sorted(self.rows(select(opt_outs.c.msisdn, opt_outs.c.opted_out))),
                         [(JANE, False), (STRANGER, True)])

    @defer.inlineCallbacks
    def test_lang_is_remembered_for_later_replies(self):
        mt = yield self.loop.exchange(JANE, "LANG SW")
        self.assertEqual(mt.text, "Jifen: tutakujibu kwa Kiswahili kuanzia sasa.")
        mt = yield self.loop.exchange(JANE, "BAL")
        self.assertEqual(mt.text, "Jifen: salio lako ni pointi 1,350.")
        self.assertEqual(self.rows(select(members.c.language).where(members.c.msisdn == JANE)),
                         [("sw",)])

    @defer.inlineCallbacks
    def test_typos_and_bad_arguments_get_useful_replies(self):
        mt = yield self.loop.exchange(JANE, "BLANCE")
        self.assertIn("1,350 pts", mt.text)
        mt = yield self.loop.exchange(JANE, "LANG KLINGON")
        self.assertEqual(mt.text, 'LANG: "KLINGON" is not a language: EN, ZH, SW, FR or ES. Example: LANG EN')
        mt = yield self.loop.exchange(LI, "兑换RICE5 2")   # read, and run: no catalogue here
        self.assertEqual(mt.text, "积分：没有礼品RICE5。发目录查看目录。")
