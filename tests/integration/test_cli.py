"""The `jifen` command line against a real database, as an operator uses it."""

import pytest

from conftest import write_config
from gateway.cli import main


@pytest.fixture
def config_file(tmp_path, database_url):
    return write_config(tmp_path / "gateway.toml", database_url)


def test_members_before_upgrade_says_to_upgrade(config_file, capsys):
    assert main(["--config", config_file, "members", "list"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "jifen db upgrade" in err


def test_upgrade_add_and_list_members(config_file, capsys):
    assert main(["--config", config_file, "db", "upgrade"]) == 0
    assert main(["--config", config_file, "members", "add", "0712 345 678", "Jane W",
                 "--points", "1350"]) == 0
    # Adding again changes nothing: the opening credit is posted once.
    assert main(["--config", config_file, "members", "add", "+254712345678", "Jane W",
                 "--points", "1350"]) == 0
    capsys.readouterr()
    assert main(["--config", config_file, "members", "list"]) == 0
    listing = capsys.readouterr().out
    assert "254712345678" in listing and "1,350" in listing
    assert main(["--config", config_file, "db", "check"]) == 0


def test_not_a_phone_number_is_refused(config_file, capsys):
    main(["--config", config_file, "db", "upgrade"])
    assert main(["--config", config_file, "members", "add", "12", "X"]) == 1
    assert "not a phone number" in capsys.readouterr().err


def test_bad_config_is_one_line_and_exit_2(tmp_path, capsys):
    path = tmp_path / "gateway.toml"
    path.write_text('[gateway]\nphone_region = "KE"\ndatabse = "x"\n', encoding="utf-8")
    assert main(["--config", str(path), "db", "current"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "gateway.toml" in err and "databse" in err
