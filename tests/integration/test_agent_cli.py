"""`jifen agents`, `jifen redemptions dispute` and `jifen report agents` as an operator uses them."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from agent_fixtures import CONFIG, JANE, Agency
from gateway.agency import aftersales
from gateway.cli import main
from gateway.store.db import make_engine
from gateway.store.models import outbox
from gateway.store.tables_catalog import ledger_postings


@pytest.fixture
def config_file(tmp_path, database_url):
    path = tmp_path / "gateway.toml"
    path.write_text(
        f'[gateway]\ndatabase = "{database_url}"\nphone_region = "KE"\n'
        f'keywords = "{CONFIG / "keywords.toml"}"\n'
        '[[smsc.binds]]\nname = "main"\nhost = "127.0.0.1"\nport = 2775\n'
        'system_id = "jifen"\npassword = "secret"\nshort_codes = ["10655"]\n'
        f'[agents]\nrules = "{CONFIG / "agents.toml"}"\ncommissions = "{CONFIG / "commissions.toml"}"\n'
        '[ledger]\nnamespace = "test"\n', encoding="utf-8")
    assert main(["--config", str(path), "db", "upgrade"]) == 0
    return str(path)


def jifen(config_file, *args) -> int:
    return main(["--config", config_file, *args])


def test_add_suspend_move_list_and_a_refused_change(config_file, capsys):
    assert jifen(config_file, "agents", "add", "M01", "0700000001", "Coast Master", "Mombasa",
                 "master") == 0
    assert jifen(config_file, "agents", "add", "M02", "0700000002", "Lake Master", "Kisumu",
                 "master") == 0
    assert jifen(config_file, "agents", "add", "A1", "0733000111", "Shop Li", "Mtwapa", "shop",
                 "--parent", "M01", "--pin", "2468") == 0
    assert jifen(config_file, "agents", "add", "A2", "0733000111", "Twin", "X", "shop",
                 "--parent", "M01") == 1
    assert "already agent A1's" in capsys.readouterr().err
    assert jifen(config_file, "agents", "move", "A1", "M02") == 0
    assert jifen(config_file, "agents", "suspend", "A1") == 0
    capsys.readouterr()
    assert jifen(config_file, "agents", "list") == 0
    listed = capsys.readouterr().out
    assert "A1         shop      suspended M02        254733000111    Shop Li (Mtwapa)" in listed


def test_import_is_all_or_nothing(config_file, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("code,msisdn,name,location,level,parent\nM9,0700000009,M,X,master,\n"
                   "A9,not a phone,S,X,shop,M9\n", encoding="utf-8")
    assert jifen(config_file, "agents", "import", str(bad)) == 1
    assert "line 3: msisdn" in capsys.readouterr().err
    assert jifen(config_file, "agents", "import", str(CONFIG / "sample_agents.csv")) == 0
    assert "imported 4 agents" in capsys.readouterr().out


def test_dispute_resolved_and_the_month_report(config_file, database_url, capsys):
    engine = make_engine(database_url)
    agency = Agency(engine)
    for qty in (2, 1):
        rdm = agency.rdm(qty=qty)
        agency.answer(rdm.code)
        agency.tick(minutes=2)
    agency.call(aftersales.dispute, JANE, rdm.deal.reference)
    assert jifen(config_file, "redemptions", "dispute", "list") == 0
    assert rdm.deal.reference in capsys.readouterr().out
    assert jifen(config_file, "redemptions", "dispute", "resolve", rdm.deal.reference, "uphold") == 0
    assert jifen(config_file, "redemptions", "dispute", "resolve", rdm.deal.reference, "reject") == 1
    assert agency.available() == 49_000
    with engine.connect() as conn:
        keys = set(conn.execute(select(outbox.c.idempotency_key)).scalars())
    assert f"ardm:{rdm.deal.reference}:dispute:m" in keys
    capsys.readouterr()
    assert jifen(config_file, "report", "agents", "--month", "2026-11", "--csv") == 0
    lines = capsys.readouterr().out.splitlines()
    assert "2026-11,agent,A1023,shop,1,1000,20,1000" in lines      # the reversed one is left out
    assert "2026-11,total,,,1,1000,35,1000" in lines
    assert jifen(config_file, "report", "agents", "--month", "2026-13") == 1
    engine.dispose()


def test_with_the_central_ledger_an_upheld_dispute_waits_for_it_before_telling(
        config_file, database_url, capsys):
    engine = make_engine(database_url)
    agency = Agency(engine)
    rdm = agency.rdm(qty=1)
    agency.answer(rdm.code)
    agency.call(aftersales.dispute, JANE, rdm.deal.reference)
    central = Path(config_file).read_text(encoding="utf-8").replace(
        '[ledger]\n', '[ledger]\nkind = "http"\nurl = "http://127.0.0.1:9"\n')
    Path(config_file).write_text(central, encoding="utf-8")
    capsys.readouterr()
    assert jifen(config_file, "redemptions", "dispute", "resolve", rdm.deal.reference, "uphold") == 0
    assert "reversal queued for the central ledger" in capsys.readouterr().out
    with engine.connect() as conn:
        keys = set(conn.execute(select(outbox.c.idempotency_key)).scalars())
        queued = conn.execute(select(ledger_postings.c.idempotency_key)).scalars().all()
    assert f"ardm:{rdm.deal.reference}:dispute:m" not in keys     # told once it posts
    assert any(key.startswith(f"ardm:{rdm.deal.reference}:") for key in queued)
    engine.dispose()
