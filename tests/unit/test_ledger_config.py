"""The [ledger] and [redemption] sections of the gateway config."""

import pytest

from gateway.config import ConfigError, load, loads

BASE = '''
[gateway]
phone_region = "KE"
[[smsc.binds]]
name = "main"
host = "127.0.0.1"
port = 2775
system_id = "jifen"
password = "secret"
short_codes = ["10655"]
'''


def test_defaults_are_the_embedded_ledger_and_pins_required():
    config = loads(BASE, base_dir="/etc/jifen")
    assert (config.ledger.kind, config.ledger.namespace, config.ledger.attempts) == (
        "embedded", "jifen", 4)
    assert config.redemption.pin_required and config.redemption.pin_attempts == 5
    assert config.redemption.catalog_path == "/etc/jifen/catalog.toml"


def test_the_shipped_config_documents_both_sections():
    config = load()
    assert config.ledger.kind == "embedded"
    assert config.redemption.catalog_path.endswith("config/catalog.toml")


def test_the_central_ledger_is_configured_by_url():
    config = loads(BASE + '[ledger]\nkind = "http"\nurl = "http://ledger.internal:8088"\n'
                   'namespace = "gw-2"\n[redemption]\npin_required = false\n')
    assert (config.ledger.kind, config.ledger.url, config.ledger.namespace) == (
        "http", "http://ledger.internal:8088", "gw-2")
    assert not config.redemption.pin_required


@pytest.mark.parametrize("section, says", [
    ('[ledger]\nkind = "http"\n', "ledger.url: kind = \"http\" needs"),
    ('[ledger]\nkind = "remote"\n', "ledger.kind"),
    ('[ledger]\nurl = "ledger:8088"\n', "ledger.url"),
    ('[ledger]\nnamespace = "gw 1"\n', "ledger.namespace"),
    ('[ledger]\nattempts = 0\n', "ledger.attempts"),
    ('[ledger]\nretry_initial_delay = 5\nretry_max_delay = 1\n', "ledger.retry_max_delay"),
    ('[ledger]\ntimout = 5\n', 'did you mean "timeout"'),
    ('[redemption]\npin_required = "yes"\n', "redemption.pin_required"),
    ('[redemption]\npin_lockout = 0\n', "redemption.pin_lockout"),
    ('[redemption]\nmax_quantity = 1001\n', "redemption.max_quantity"),
])
def test_mistakes_are_one_line_naming_the_key(section, says):
    with pytest.raises(ConfigError) as bad:
        loads(BASE + section, "gateway.toml")
    assert says in str(bad.value) and "\n" not in str(bad.value)


def test_a_boolean_may_come_from_the_environment():
    config = loads(BASE + '[redemption]\npin_required = "${PINS:-false}"\n', environ={})
    assert config.redemption.pin_required is False
