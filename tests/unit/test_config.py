"""Config loading: every kind of bad config stops start-up with one line naming the file and key."""

import os
from pathlib import Path

import pytest

from gateway.config import (BindConfig, ConfigError, GatewayConfig, default_config_path, load, loads)

GOOD = """\
[gateway]
database = "sqlite:///var/jifen.db"
default_language = "en"
phone_region = "KE"
keywords = "keywords.toml"

[[smsc.binds]]
name = "main"
host = "smsc.example.net"
port = 2775
system_id = "jifen"
password = "pw"
short_codes = ["10655"]
"""

SECOND_BIND = """
[[smsc.binds]]
name = "backup"
host = "smsc2.example.net"
port = 2775
system_id = "jifen2"
password = "pw"
short_codes = ["20655"]
"""


def write(tmp_path: Path, text: str, name: str = "gateway.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_for(tmp_path: Path, text: str, environ=None) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load(path, environ={} if environ is None else environ)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert "\n" not in message
    return message[len(f"{path}: "):]


# --- the good cases ----------------------------------------------------------------------------

def test_embedded_default_config_loads(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load(environ={})
    assert config.source == "<embedded defaults>"
    assert default_config_path() == Path(__file__).resolve().parents[2] / "config" / "gateway.toml"
    assert config.database_url == f"sqlite:///{tmp_path}/var/jifen.db"
    assert config.keywords_path == str(default_config_path().parent / "keywords.toml")
    assert config.phone_region == "KE" and config.default_language == "en"
    [bind] = config.binds
    assert bind.password == "secret"  # the ${JIFEN_SMSC_PASSWORD:-secret} fallback
    assert bind.short_codes == ("10655",) and bind.mode == "transceiver"


def test_embedded_default_takes_password_from_environment():
    assert load(environ={"JIFEN_SMSC_PASSWORD": "s3cret"}).binds[0].password == "s3cret"


def test_defaults_fill_optional_keys(tmp_path):
    config = load(write(tmp_path, GOOD), environ={})
    assert config.source == str(tmp_path / "gateway.toml")
    assert (config.inbox_batch_window, config.log_format, config.log_level) == (0.005, "console", "info")
    assert config.binds == (BindConfig(
        name="main", host="smsc.example.net", port=2775, system_id="jifen", password="pw",
        short_codes=("10655",)),)
    bind = config.binds[0]
    assert (bind.system_type, bind.window, bind.default_data_coding) == ("", 10, "gsm7")
    assert (bind.enquire_link_interval, bind.response_timeout) == (30.0, 10.0)
    assert (bind.reconnect_initial_delay, bind.reconnect_max_delay) == (1.0, 60.0)


def test_keywords_path_is_relative_to_the_config_file(tmp_path, monkeypatch):
    monkeypatch.chdir("/")
    (tmp_path / "etc").mkdir()
    assert load(write(tmp_path / "etc", GOOD), environ={}).keywords_path == str(tmp_path / "etc" / "keywords.toml")
    absolute = GOOD.replace('"keywords.toml"', '"/srv/kw.toml"')
    assert load(write(tmp_path, absolute), environ={}).keywords_path == "/srv/kw.toml"


def test_loads_anchors_relative_paths_at_base_dir(tmp_path):
    config = loads(GOOD, environ={}, base_dir=tmp_path)
    assert config.source == "<string>"
    assert config.keywords_path == str(tmp_path / "keywords.toml")


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "sqlite:////srv/jifen.db",
                                 "postgresql+psycopg://jifen:pw@db/jifen"])
def test_database_urls_other_than_relative_sqlite_are_kept(url):
    assert loads(GOOD.replace("sqlite:///var/jifen.db", url), environ={}).database_url == url


def test_numbers_accept_ints_for_floats_and_normalise_region(tmp_path):
    text = GOOD.replace('"KE"', '"cn"') + "enquire_link_interval = 5\nwindow = 1\n"
    config = load(write(tmp_path, text), environ={})
    assert config.phone_region == "CN"
    assert config.binds[0].enquire_link_interval == 5.0
    assert isinstance(config.binds[0].enquire_link_interval, float)


def test_two_binds(tmp_path):
    config = load(write(tmp_path, GOOD + SECOND_BIND), environ={})
    assert [b.name for b in config.binds] == ["main", "backup"]


def test_a_receiver_and_a_transmitter_may_share_a_short_code_and_tps_is_read():
    text = (GOOD.replace('short_codes = ["10655"]', 'short_codes = ["10655"]\nmode = "receiver"')
            + SECOND_BIND.replace('"20655"', '"10655"') + 'mode = "transmitter"\ntps = 50\n')
    receiver, transmitter = loads(text, environ={}).binds
    assert (receiver.mode, receiver.tps) == ("receiver", None)
    assert (transmitter.mode, transmitter.short_codes, transmitter.tps) == (
        "transmitter", ("10655",), 50.0)


def test_repr_hides_secrets():
    config = loads(GOOD.replace("sqlite:///var/jifen.db", "postgresql://u:hunter2@db/j"), environ={})
    assert "hunter2" not in repr(config) and "'pw'" not in repr(config)
    assert isinstance(config, GatewayConfig)


# --- environment substitution --------------------------------------------------------------------

@pytest.mark.parametrize("written, environ, expected", [
    ("${PW}", {"PW": "fromenv"}, "fromenv"),
    ("${PW:-dflt}", {}, "dflt"),
    ("${PW:-dflt}", {"PW": "fromenv"}, "fromenv"),
    ("${PW:-dflt}", {"PW": ""}, "dflt"),          # as in the shell, :- also covers empty
    ("${PW}", {"PW": ""}, ""),
    ("a${PW}b", {"PW": "-"}, "a-b"),
    ("$${PW}", {}, "${PW}"),                       # $${ is a literal ${
    ("p$w", {}, "p$w"),                            # a lone $ is just a dollar
])
def test_env_substitution(written, environ, expected):
    config = loads(GOOD.replace('password = "pw"', f'password = "{written}"'), environ=environ)
    assert config.binds[0].password == expected


def test_env_substitution_in_database_url_and_numbers():
    text = (GOOD.replace("sqlite:///var/jifen.db", "postgresql://jifen:${DB_PW}@db/jifen")
            .replace("port = 2775", 'port = "${SMSC_PORT:-2775}"') + 'window = "${WINDOW}"\n')
    config = loads(text, environ={"DB_PW": "s3cret", "WINDOW": "50"})
    assert config.database_url == "postgresql://jifen:s3cret@db/jifen"
    assert (config.binds[0].port, config.binds[0].window) == (2775, 50)


def test_unset_env_var_names_key_and_variable(tmp_path):
    text = GOOD.replace('password = "pw"', 'password = "${JIFEN_SMSC_PASSWORD}"')
    assert error_for(tmp_path, text) == (
        "smsc.binds[0].password: environment variable JIFEN_SMSC_PASSWORD is not set "
        "(set it, or write ${JIFEN_SMSC_PASSWORD:-default})")


def test_load_reads_os_environ_by_default(tmp_path, monkeypatch):
    monkeypatch.setenv("JIFEN_TEST_PW", "osenv")
    text = GOOD.replace('password = "pw"', 'password = "${JIFEN_TEST_PW}"')
    assert load(write(tmp_path, text)).binds[0].password == "osenv"


# --- bad files -----------------------------------------------------------------------------------

def test_nonexistent_file(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load(tmp_path / "nope.toml")
    assert str(caught.value) == f"{tmp_path / 'nope.toml'}: config file not found"


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(ConfigError, match=r"cannot read config file \(Is a directory\)$"):
        load(tmp_path)


def test_unreadable_file(tmp_path, monkeypatch):
    path = write(tmp_path, GOOD)

    def refuse(self):
        raise PermissionError(13, "Permission denied", str(self))
    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert str(caught.value) == f"{path}: cannot read config file (Permission denied)"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_for_real(tmp_path):
    path = write(tmp_path, GOOD)
    path.chmod(0)
    with pytest.raises(ConfigError, match="cannot read config file"):
        load(path)


def test_not_utf8(tmp_path):
    path = tmp_path / "gateway.toml"
    path.write_bytes(b'[gateway]\nphone_region = "\xff"\n')
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert str(caught.value) == f"{path}: not UTF-8 text (bad byte at offset 26)"


def test_invalid_toml_names_line_and_column(tmp_path):
    text = GOOD.replace("port = 2775", "port = 2775 2776")
    assert error_for(tmp_path, text) == (
        "line 10, column 13: invalid TOML: Expected newline or end of document after a statement")


def test_invalid_toml_at_end_of_file(tmp_path):
    message = error_for(tmp_path, GOOD + 'system_type = """x\n')  # GOOD is 13 lines
    assert message == "line 14 (end of file): invalid TOML: Unterminated string"


# --- bad keys and values -------------------------------------------------------------------------

def _set(key: str, value: str) -> str:
    """GOOD with `key = value` replaced (or added to the first bind)."""
    lines = GOOD.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(f"{key} = "):
            lines[i] = f"{key} = {value}"
            return "\n".join(lines) + "\n"
    return GOOD + f"{key} = {value}\n"


def _drop(key: str) -> str:
    return "".join(line for line in GOOD.splitlines(keepends=True) if not line.startswith(f"{key} ="))


@pytest.mark.parametrize("text, expected", [
    # missing required keys
    (_drop("phone_region"), "gateway.phone_region: required key is missing"),
    (_drop("port"), "smsc.binds[0].port: required key is missing"),
    (_drop("short_codes"), "smsc.binds[0].short_codes: required key is missing"),
    ('[gateway]\nphone_region = "KE"\n', "smsc.binds: no SMSC bind configured (add a [[smsc.binds]] table)"),
    # wrong types
    (_set("port", '"abc"'), 'smsc.binds[0].port: expected an integer from 1 to 65535, got "abc"'),
    (_set("port", "true"), "smsc.binds[0].port: expected an integer from 1 to 65535, got true"),
    (_set("port", "2775.0"), "smsc.binds[0].port: expected an integer from 1 to 65535, got 2775.0"),
    (_set("port", "70000"), "smsc.binds[0].port: expected an integer from 1 to 65535, got 70000"),
    (_set("window", "0"), "smsc.binds[0].window: expected an integer of at least 1, got 0"),
    (_set("host", "2775"), "smsc.binds[0].host: expected a host name or IP address, got 2775"),
    (_set("response_timeout", "0"),
     "smsc.binds[0].response_timeout: expected a number of seconds greater than 0, got 0"),
    (_set("enquire_link_interval", "inf"),
     "smsc.binds[0].enquire_link_interval: expected a number of seconds greater than 0, got inf"),
    (_set("enquire_link_interval", "false"),
     "smsc.binds[0].enquire_link_interval: expected a number of seconds greater than 0, got false"),
    (GOOD.replace('keywords = "keywords.toml"', "inbox_batch_window = 2"),
     "gateway.inbox_batch_window: expected a number of seconds from 0 to 1, got 2"),
    (_set("short_codes", "[10655]"), 'smsc.binds[0].short_codes: expected a non-empty list of quoted digit '
     'strings such as ["10655"], got [10655] (10655 is not a quoted string of 1 to 20 digits)'),
    (_set("short_codes", "[]"), "smsc.binds[0].short_codes: expected a non-empty list"),
    (_set("short_codes", '["10655", "10655"]'), 'got ["10655", "10655"] ("10655" is listed twice)'),
    (_set("default_language", '"English"'), 'gateway.default_language: expected a 2 or 3 letter'),
    ("gateway = 1\n", "gateway: expected a [gateway] table, got 1"),
    ('[gateway]\nphone_region = "KE"\n[smsc]\nbinds = 3\n', "smsc.binds: expected one or more [[smsc.binds]] tables, got 3"),
    # unknown keys, with a suggestion when one is close
    (GOOD.replace("database =", "databse ="), 'unknown key "databse" in [gateway] (did you mean "database"?)'),
    (_set("prot", "1"), 'unknown key "prot" in smsc.binds[0] (did you mean "port"?)'),
    (GOOD + "[gatway]\n", 'unknown key "gatway" in the top level (did you mean "gateway"?)'),
    (GOOD + "[smsc.extra]\n", 'unknown key "extra" in [smsc] (known keys: binds)'),
    ('"a\\nb" = 1\n' + GOOD, 'unknown key "a\\nb" in the top level (known keys: gateway, smsc, '),
    # bad values
    (_set("phone_region", '"XX"'), 'gateway.phone_region: expected a region code such as "KE" or "CN", got "XX"'),
    (_set("phone_region", '"UK"'), 'got "UK" (did you mean "GB"?)'),
    (_set("mode", '"tranceiver"'), 'smsc.binds[0].mode: expected one of "transceiver", "transmitter", '
     '"receiver", got "tranceiver" (did you mean "transceiver"?)'),
    (_set("default_data_coding", '"utf8"'), 'smsc.binds[0].default_data_coding: expected one of "gsm7"'),
    (_set("long_messages", '"payload"'), 'smsc.binds[0].long_messages: expected one of "udh"'),
    (_set("log_format", '"xml"'), 'unknown key "log_format" in smsc.binds[0] (known keys: name, host,'),
    (_set("system_id", '"a_very_long_system"'), 'smsc.binds[0].system_id: expected 1 to 15 ASCII characters '
     '(the SMPP limit), got "a_very_long_system" (18 characters)'),
    (_set("system_id", '""'), "smsc.binds[0].system_id: expected 1 to 15 ASCII characters"),
    (_set("system_id", '"jifén"'), 'got "jifén" (only printable ASCII is allowed)'),
    (_set("system_type", '"thirteen_char"'), "smsc.binds[0].system_type: expected at most 12 ASCII"),
    (_set("name", '"main bind"'), 'smsc.binds[0].name: expected a label of letters, digits, "-" or "_"'),
    (_set("reconnect_initial_delay", "90"),
     "smsc.binds[0].reconnect_max_delay: must be at least reconnect_initial_delay (90)"),
    (_set("database", '"mysql://u:hunter2@db/j"'),
     'gateway.database: expected a sqlite:// or postgresql:// URL, got "mysql://u:***@db/j"'),
    (_set("database", '"postgres://u:pw@db/j"'), '(did you mean "postgresql"?)'),
    (_set("database", '"not a url"'), "gateway.database: expected a database URL such as"),
    (_set("password", '"${X"'), 'smsc.binds[0].password: malformed "${"'),
    (_set("port", '"${PORT}"'), "smsc.binds[0].port: environment variable PORT is not set"),
    # across binds
    (GOOD + SECOND_BIND.replace('"backup"', '"main"'),
     'smsc.binds[1].name: duplicate bind name "main" (also smsc.binds[0])'),
    (GOOD + SECOND_BIND.replace('"20655"', '"30655", "10655"'),
     'smsc.binds[1].short_codes: short code "10655" already has a transmitting bind, "main" '
     '(smsc.binds[0]): it takes one transceiver, or one receiver and one transmitter'),
    (GOOD + SECOND_BIND.replace('"20655"', '"10655"') + 'mode = "receiver"\n',
     'smsc.binds[1].short_codes: short code "10655" already has a receiving bind, "main"'),
    (GOOD.replace('short_codes = ["10655"]', 'short_codes = ["10655"]\nmode = "receiver"')
     + SECOND_BIND.replace('"20655"', '"10655"') + 'mode = "receiver"\n',
     'smsc.binds[1].short_codes: short code "10655" already has a receiving bind, "main"'),
    (_set("tps", "0"), "smsc.binds[0].tps: expected a number of messages per second greater than 0, got 0"),
])
def test_bad_config_names_file_and_key(tmp_path, text, expected):
    assert expected in error_for(tmp_path, text)


def test_gateway_keys_placed_in_gateway_section_are_checked(tmp_path):
    text = GOOD.replace('keywords = "keywords.toml"', 'log_format = "xml"')
    assert error_for(tmp_path, text) == (
        'gateway.log_format: expected one of "console", "json", got "xml"')


def test_password_never_appears_in_errors(tmp_path):
    message = error_for(tmp_path, _set("password", '"hunter2hunter2"'))
    assert message == ("smsc.binds[0].password: expected at most 8 ASCII characters (the SMPP limit), "
                       "got a hidden value (14 characters)")
    assert "hunter2" not in message


def test_config_error_carries_source_and_key(tmp_path):
    path = write(tmp_path, _set("port", "0"))
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert (caught.value.source, caught.value.key) == (str(path), "smsc.binds[0].port")


def test_loads_names_its_source():
    with pytest.raises(ConfigError, match=r"^custom\.toml: gateway\.phone_region: required key is missing$"):
        loads("[gateway]\n", source="custom.toml", environ={})


def test_default_language_without_keywords_is_refused(tmp_path):
    from gateway.config import check_keywords, load as load_config

    keywords = tmp_path / "kw.toml"
    keywords.write_text('[commands.BAL]\nen = ["BAL"]\n', encoding="utf-8")
    path = tmp_path / "gw.toml"
    path.write_text(
        '[gateway]\nphone_region = "KE"\ndefault_language = "sw"\nkeywords = "kw.toml"\n'
        '[[smsc.binds]]\nname = "m"\nhost = "h"\nport = 1\nsystem_id = "s"\n'
        'password = "p"\nshort_codes = ["1"]\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        check_keywords(load_config(path))
    assert "gateway.default_language" in str(caught.value)
    assert "'sw'" in str(caught.value) and "en" in str(caught.value)


def test_missing_keywords_file_is_one_clear_line(tmp_path):
    from gateway.config import check_keywords, load as load_config

    path = tmp_path / "gw.toml"
    path.write_text(
        '[gateway]\nphone_region = "KE"\nkeywords = "nope.toml"\n'
        '[[smsc.binds]]\nname = "m"\nhost = "h"\nport = 1\nsystem_id = "s"\n'
        'password = "p"\nshort_codes = ["1"]\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        check_keywords(load_config(path))
    assert "gateway.keywords" in str(caught.value) and "nope.toml" in str(caught.value)
