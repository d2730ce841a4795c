"""`jifen keywords` against a real database, as an operator uses it."""

from __future__ import annotations

import pytest

from conftest import write_config
from gateway.cli import main


@pytest.fixture
def jifen(tmp_path, database_url, capsys):
    path = write_config(tmp_path / "gateway.toml", database_url)

    def run(*argv) -> tuple[int, str, str]:
        status = main(["--config", str(path), *argv])
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    return run


def test_keywords_before_upgrade_says_to_upgrade(jifen):
    status, _, err = jifen("keywords", "list")
    assert status == 1 and err.count("\n") == 1 and "jifen db upgrade" in err


def test_list_add_remove_and_history(jifen):
    jifen("db", "upgrade")
    status, out, _ = jifen("keywords", "list", "--command", "bal")
    assert status == 0
    assert out.splitlines()[:3] == ["BAL       args: -", "  en      BAL BALANCE POINTS PTS",
                                    "  zh      余额 查询积分 积分 查积分 CXJF JF"]
    assert jifen("keywords", "add", "bal", "EN", "Mypts", "--by", "alice")[0] == 0
    assert jifen("keywords", "add", "BAL", "sw", "PESA", "--first")[0] == 0
    assert jifen("keywords", "remove", "BAL", "en", "pts", "--by", "bob")[0] == 0
    _, out, _ = jifen("keywords", "list", "--command", "BAL", "--language", "en")
    assert "  en      BAL BALANCE POINTS +Mypts -PTS" in out.splitlines()
    _, out, _ = jifen("keywords", "list", "--command", "BAL", "--language", "sw")
    assert "  sw      +PESA SALIO SALIA" in out.splitlines()
    _, out, _ = jifen("keywords", "history")
    lines = out.splitlines()
    assert len(lines) == 3
    assert lines[0].split()[2:] == ["bob", "remove", "BAL", "en", "PTS"]
    assert lines[2].split()[2:] == ["alice", "add", "BAL", "en", "Mypts"]
    _, out, _ = jifen("keywords", "list", "--command", "REDEEM")
    assert out.splitlines()[0] == "REDEEM    args: item qty? pin?"


def test_a_refused_change_is_one_line_and_exit_1(jifen):
    jifen("db", "upgrade")
    status, out, err = jifen("keywords", "add", "HELP", "zh", "TD")
    assert (status, out) == (1, "")
    assert err == ("jifen: refused: commands.HELP.zh: keyword 'TD' is an opt-out word "
                   "(commands.STOP.zh), so HELP cannot use it\n")
    assert jifen("keywords", "history")[1] == ""


@pytest.mark.parametrize(("argv", "expected"), [
    (["兑换RICE5 2"], [
        "parsed:   REDEEM(zh) item=RICE5 qty=2",
        "reply:    积分：R8K2P（2xRICE5，0分）处理中，完成后短信通知您。",
        "          zh, 33 of 70 characters (UCS-2)",
        "remember: language zh",
        "effect:   redeem 2 x RICE5 (not done: this is a test)",
    ]),
    (["blance", "--language", "fr"], [
        "parsed:   BAL(en)~",
        "reply:    Jifen : votre solde est de 1 350 pts.",
        "          fr, 37 of 160 characters (GSM-7)",
    ]),
    (["STOP", "--stranger"], [
        "parsed:   STOP(en)",
        "reply:    Jifen: you will get no more promotional messages. Replies to your own requests "
        "still come. Send START to get offers again.",
        "          en, 122 of 160 characters (GSM-7)",
        "effect:   promotions off for this phone (not done: this is a test)",
    ]),
    (["REDEEM RICE5 2 1234"], [
        "parsed:   REDEEM(en) item=RICE5 qty=2 pin=****",
        "reply:    Jifen: R8K2P: 2 x RICE5 for 0 pts is being processed. We will SMS you when it is done.",
        "          en, 86 of 160 characters (GSM-7)",
        "remember: language en",
        "effect:   redeem 2 x RICE5 (not done: this is a test)",
    ]),
])
def test_test_prints_the_parse_and_the_reply_without_sending_anything(jifen, argv, expected):
    jifen("db", "upgrade")
    status, out, _ = jifen("keywords", "test", *argv)
    assert status == 0
    assert out.splitlines() == expected
    assert "1234" not in out


def test_test_uses_the_keywords_changed_at_runtime(jifen):
    jifen("db", "upgrade")
    assert jifen("keywords", "test", "MYPTS")[1].splitlines()[0] == "parsed:   not understood"
    jifen("keywords", "add", "BAL", "en", "MYPTS")
    assert jifen("keywords", "test", "MYPTS")[1].splitlines()[0] == "parsed:   BAL(en)"
