"""`jifen catalog`, `jifen redemptions` and `jifen ledger` as an operator uses them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway import catalog
from gateway.cli import main
from gateway.redeem import State
from gateway.store.db import make_engine
from gateway.store.models import outbox
from redeem_fixtures import Shop

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config"


@pytest.fixture
def config_file(tmp_path, database_url):
    path = tmp_path / "gateway.toml"
    path.write_text(
        f'[gateway]\ndatabase = "{database_url}"\nphone_region = "KE"\n'
        f'keywords = "{REPO_CONFIG / "keywords.toml"}"\n'
        '[[smsc.binds]]\nname = "main"\nhost = "127.0.0.1"\nport = 2775\n'
        'system_id = "jifen"\npassword = "secret"\nshort_codes = ["10655"]\n'
        f'[redemption]\ncatalog = "{REPO_CONFIG / "catalog.toml"}"\n', encoding="utf-8")
    assert main(["--config", str(path), "db", "upgrade"]) == 0
    return str(path)


def jifen(config_file, *args) -> int:
    return main(["--config", config_file, *args])


def items(database_url) -> dict[str, catalog.Item]:
    engine = make_engine(database_url)
    with engine.connect() as conn:
        found = {item.code: item for item in catalog.items(conn)}
    engine.dispose()
    return found


def test_load_list_and_change_the_catalogue(config_file, database_url, capsys):
    assert jifen(config_file, "catalog", "load") == 0
    assert jifen(config_file, "catalog", "stock", "RICE5", "-20") == 0
    assert jifen(config_file, "catalog", "load") == 0            # keeps the stock it has
    assert items(database_url)["RICE5"].stock == 180
    assert jifen(config_file, "catalog", "load", "--reset-stock") == 0
    assert items(database_url)["RICE5"].stock == 200
    assert jifen(config_file, "catalog", "add", "tea1", "--kind", "goods", "--category",
                 "food", "--price", "80", "--name", "en=Tea 100g", "--name", "zh=茶叶",
                 "--stock", "30", "--limit", "3") == 0
    assert jifen(config_file, "catalog", "set", "TEA1", "--price", "90", "--name", "sw=Chai",
                 "--limit", "none", "--ends", "2027-01-01T00:00+03:00") == 0
    assert jifen(config_file, "catalog", "stock", "AIR50", "50") == 0
    assert jifen(config_file, "catalog", "stock", "MOVIE", "unlimited") == 0
    found = items(database_url)
    tea = found["TEA1"]
    assert (tea.price, tea.per_member_limit, tea.stock) == (90, None, 30)
    assert tea.names == {"en": "Tea 100g", "zh": "茶叶", "sw": "Chai"}
    assert tea.sale_ends_at.isoformat() == "2026-12-31T21:00:00+00:00"
    assert (found["AIR50"].stock, found["MOVIE"].stock) == (50, None)
    capsys.readouterr()
    assert jifen(config_file, "catalog", "list", "--language", "zh") == 0
    listing = capsys.readouterr().out
    assert "大米5公斤" in listing and "TEA1" in listing and "unlimited" in listing


MISTAKES = [
    (("catalog", "stock", "RICE5", "-999"), "fewer than 999"),
    (("catalog", "stock", "RICE5", "lots"), "expected N"),
    (("catalog", "stock", "NOPE", "5"), "no item NOPE"),
    (("catalog", "set", "RICE5", "--price", "0"), "price"),
    (("catalog", "set", "RICE5"), "nothing to change"),
    (("catalog", "add", "RICE5", "--kind", "goods", "--category", "food", "--price", "1",
      "--name", "en=Rice"), "already exists"),
    (("catalog", "add", "X9", "--kind", "goods", "--category", "food", "--price", "1"),
     "names"),
    (("redemptions", "reverse", "RZZZZ", "--reason", "x"), "no redemption RZZZZ"),
]


def test_mistakes_are_one_line_and_change_nothing(config_file, database_url, capsys):
    jifen(config_file, "catalog", "load")
    before = items(database_url)
    capsys.readouterr()
    for args, says in MISTAKES:
        assert jifen(config_file, *args) == 1, args
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and says in err, (args, err)
    assert items(database_url) == before


def test_a_bad_catalogue_file_is_one_line(config_file, tmp_path, capsys):
    bad = tmp_path / "catalog.toml"
    bad.write_text('[[items]]\ncode = "X1"\ncategory = "a"\nkind = "goods"\nprice = -1\n'
                   'names = { en = "X" }\n', encoding="utf-8")
    assert jifen(config_file, "catalog", "load", str(bad)) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "items[0].price" in err


def test_reverse_a_redemption_from_the_command_line(config_file, database_url, capsys):
    engine = make_engine(database_url)
    shop = Shop(engine)
    [jane] = shop.members(1, 2000)
    done = shop.redeem(jane, "MOVIE", 1)
    code = done.voucher_codes[0]
    assert jifen(config_file, "redemptions", "voucher", code.lower()) == 0
    assert f"valid: redemption {done.reference}" in capsys.readouterr().out
    assert jifen(config_file, "redemptions", "voucher", "NOTACODE22") == 1
    for _ in range(2):
        assert jifen(config_file, "redemptions", "reverse", done.reference, "--reason",
                     "shop closed", "--by", "ops:bob") == 0
        assert f"{done.reference}: {State.REVERSED}" in capsys.readouterr().out
    assert shop.available(jane) == 2000
    assert len(shop.rows(select(outbox.c.id))) == 1
    assert jifen(config_file, "redemptions", "show", done.reference) == 0
    shown = capsys.readouterr().out
    assert "reversed by ops:bob: shop closed" in shown
    assert jifen(config_file, "ledger", "audit") == 0
    engine.dispose()


def test_ledger_serve_answers_over_http(config_file, database_url, tmp_path):
    if not database_url.startswith("sqlite"):
        pytest.skip("one process start is enough; the service itself is tested on both")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen(
        [sys.executable, "-c", "import sys; from gateway.cli import main; sys.exit(main())",
         "--config", config_file, "ledger", "serve", "--listen", "tcp:0:interface=127.0.0.1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = server.stdout.readline()
        port = re.search(r"port=(\d+)", line)
        assert port, (line, server.poll() is not None and server.stderr.read())
        import json
        import urllib.request
        request = urllib.request.Request(
            f"http://127.0.0.1:{port[1]}/v1/accounts", method="POST",
            data=json.dumps({"kind": "member", "reference": "254712345678"}).encode(),
            headers={"content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            account = json.loads(answer.read())["account"]
        assert (account["reference"], account["available"]) == ("254712345678", 0)
    finally:
        server.terminate()
        server.wait(10)
