"""Gateway settings: read the TOML file, check every key, hand back frozen dataclasses.

Start at `load()`. A config file is hostile input like any other: every key is checked against one
table of field specs (`_GATEWAY_FIELDS`, `_BIND_FIELDS`), and the first problem stops start-up with a
`ConfigError` whose text is one line naming the file and the key (how each key is checked lives
in gateway/_config_fields.py), e.g.
`gateway.toml: smsc.binds[0].port: expected an integer from 1 to 65535, got "abc"`.

Secrets stay out of the file: any string may say `${VAR}` or `${VAR:-default}` (`$${` is a literal
`${`). A number may be written so too, letting a container set `port = "${SMSC_PORT:-2775}"`.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


from gateway._config_fields import (
    _Bad, _Field, _addresses, _boolean, _choice, _database_url, _http_url, _number, _region,
    _reject_unknown, _secret_key, _section, _short_codes, _show, _string, _table, _timezone,
)
from gateway.receipts import ID_FORMATS

# gateway.ussd.DIALECTS by name (importing gateway.ussd here would be circular: its loader raises
# ConfigError); tests/unit/test_ussd_wiring.py checks the two agree.
USSD_DIALECTS = ("smpp5", "umr", "dialogue15")

__all__ = ["AgentsConfig", "BindConfig", "ConfigError", "GatewayConfig", "LedgerConfig", "RedemptionConfig", "check_keywords", "default_config_path", "load",
           "loads"]

EMBEDDED_SOURCE = "<embedded defaults>"


class ConfigError(Exception):
    """The config cannot be used; `str()` is the one line to show the operator."""

    def __init__(self, message: str, source: str | None = None, key: str | None = None):
        super().__init__(message)
        self.source, self.key = source, key


# kw_only: the field order below is the documented one, and short_codes (required) follows
# fields with defaults; keywords also keep callers from silently swapping two strings.
@dataclass(frozen=True, kw_only=True)
class BindConfig:
    """One SMPP bind to an SMSC, and the short codes whose traffic it carries."""

    name: str
    host: str
    port: int
    system_id: str
    password: str = field(repr=False)  # reprs end up in logs
    system_type: str = ""
    mode: str = "transceiver"
    short_codes: tuple[str, ...]
    enquire_link_interval: float = 30.0
    response_timeout: float = 10.0
    window: int = 10
    tps: float | None = None  # messages per second the operator sold; None: no cap
    reconnect_initial_delay: float = 1.0
    reconnect_max_delay: float = 60.0
    default_data_coding: str = "gsm7"
    receipt_id_format: str = "auto"  # a gateway.receipts.ID_FORMATS adapter
    ussd_dialect: str = ""  # a gateway.ussd.DIALECTS name; "" = this bind carries no USSD
    long_messages: str = "udh"  # "udh": concatenated segments; "message_payload": one submit_sm


@dataclass(frozen=True, kw_only=True)
class LedgerConfig:
    """Where points are posted: the ledger in the gateway's own database ("embedded"), or the
    central ledger service ("http", docs/ledger-api.md) through the durable postings queue."""

    kind: str = "embedded"
    url: str = ""                       # the service, for kind = "http"
    namespace: str = "jifen"            # prefixes transfer ids: gateways sharing a service differ
    timeout: float = 5.0
    attempts: int = 4                   # tries per request before the posting waits in the queue
    retry_initial_delay: float = 0.5
    retry_max_delay: float = 60.0
    hold_sweep_interval: float = 5.0
    read_timeout: float = 2.0           # BAL/HIST wait this long for the service, then "not now"


@dataclass(frozen=True, kw_only=True)
class RedemptionConfig:
    """Member self-redemption: the catalogue file and the PIN rules."""

    catalog_path: str = ""              # absolute; "" until load() resolves it
    pin_required: bool = True
    pin_attempts: int = 5               # wrong PINs in a row before redemption locks
    pin_lockout: float = 1800.0         # seconds it stays locked
    max_quantity: int = 10


@dataclass(frozen=True, kw_only=True)
class UssdConfig:
    """USSD dialogues (docs/ussd.md): the menu file, session expiry, the network's reply budget,
    and the aggregator's HTTP callback (off unless ``http_port`` is set)."""

    menus_path: str = ""                # absolute; "" until load() resolves it
    session_timeout: float = 180.0      # seconds a dialogue may wait for its next answer
    reply_budget: float = 15.0          # seconds before the screen says "by SMS" instead
    push_bind: str = ""                 # the bind that asks members to approve by USSD push; "": none
    http_port: int | None = None        # the aggregator callback; None: not served
    http_interface: str = "127.0.0.1"
    http_path: str = "/ussd"
    http_secret: str = field(default="", repr=False)
    http_allow: tuple[str, ...] = ()    # peer addresses allowed without the secret
    http_max_body: int = 4096


@dataclass(frozen=True, kw_only=True)
class AgentsConfig:
    """Assisted redemption at village shops: the agent rules files and the time limits."""

    rules_path: str = ""                # config/agents.toml (risk limits); absolute after load()
    commissions_path: str = ""          # config/commissions.toml; absolute after load()
    hold_timeout: int = 600             # seconds a member has to answer YES
    code_attempts: int = 3              # wrong confirmation codes that cancel a redemption
    reversal_window: float = 1800.0     # seconds after approval an agent may REV
    dispute_window: float = 86400.0     # seconds after approval a member may DISPUTE
    settlement_currency: str = "KES"    # the ledger shops are paid in
    settlement_per_point: int = 1       # minor units of that currency owed per point redeemed
    sweep_interval: float = 5.0         # seconds between sweeps for unanswered redemptions


@dataclass(frozen=True)
class GatewayConfig:
    """Everything the composition root needs to build the daemon."""

    source: str
    database_url: str = field(repr=False)  # may hold a PostgreSQL password
    default_language: str
    phone_region: str
    keywords_path: str
    binds: tuple[BindConfig, ...]
    keywords_reload_interval: float = 2.0  # seconds between checks for operators' keyword changes
    timezone: str = "UTC"                 # IANA name: where the operator's calendar days begin
    inbox_batch_window: float = 0.005
    mo_parts_timeout: float = 300.0       # seconds without a new part before "incomplete"
    mo_redelivery_window: float = 900.0   # seconds within which a repeat is a redelivery
    # Keys the MO digests (gateway/redaction.py); "" = a random key kept in the database.
    secret_key: str = field(default="", repr=False)
    log_format: str = "console"
    log_level: str = "info"
    ledger: LedgerConfig = field(default_factory=LedgerConfig)
    redemption: RedemptionConfig = field(default_factory=RedemptionConfig)
    agents: AgentsConfig = field(default_factory=AgentsConfig)
    ussd: UssdConfig = field(default_factory=UssdConfig)


def default_config_path() -> Path:
    """The config shipped in the repo, used by `jifen demo` and when no --config is given."""
    return Path(__file__).resolve().parents[1] / "config" / "gateway.toml"


def load(path: str | os.PathLike | None = None,
         environ: Mapping[str, str] | None = None) -> GatewayConfig:
    """Read and check the config at `path` (None: the embedded defaults).

    Relative paths inside the file (the keywords file) are taken from the file's own directory,
    so the daemon behaves the same whatever directory it is started from.
    """
    file = default_config_path() if path is None else Path(path)
    source = os.fspath(file)
    try:
        text = file.read_bytes().decode("utf-8-sig")  # -sig: tolerate a BOM from Windows editors
    except FileNotFoundError:
        raise ConfigError(f"{source}: config file not found", source) from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{source}: not UTF-8 text (bad byte at offset {err.start})", source) from None
    except OSError as err:  # permission denied, a directory, an I/O error
        raise ConfigError(f"{source}: cannot read config file ({err.strerror or err})", source) from None
    config = loads(text, source, environ, base_dir=file.absolute().parent)
    return dataclasses.replace(config, source=EMBEDDED_SOURCE) if path is None else config


def loads(text: str, source: str = "<string>", environ: Mapping[str, str] | None = None,
          base_dir: str | os.PathLike | None = None) -> GatewayConfig:
    """Check config `text`; `source` names it in errors, `base_dir` anchors relative paths."""
    env = os.environ if environ is None else environ
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{source}: {_toml_problem(err, text)}", source) from None
    try:
        return _build(data, source, env, Path.cwd() if base_dir is None else Path(base_dir))
    except _Bad as err:
        where = f"{err.key}: " if err.key else ""
        raise ConfigError(f"{source}: {where}{err.message}", source, err.key) from None


def _toml_problem(err: tomllib.TOMLDecodeError, text: str) -> str:
    # tomllib says "Invalid value (at line 2, column 5)"; lead with the place, as compilers do.
    end = f"(at line {len(text.splitlines()) or 1} (end of file))"
    found = re.fullmatch(r"(.*) \(at (line .*)\)", str(err).replace("(at end of document)", end))
    return f"{found[2]}: invalid TOML: {found[1]}" if found else f"invalid TOML: {err}"


_SECONDS = "a number of seconds greater than 0"

_GATEWAY_FIELDS = (
    _Field("database", "a database URL string", _database_url, "sqlite:///var/jifen.db", "database_url"),
    _Field("default_language", "a 2 or 3 letter lower-case language code such as \"en\"",
           _string(pattern="[a-z]{2,3}"), "en"),
    _Field("phone_region", "a region code such as \"KE\" or \"CN\"", _region),
    # Where the operator's days begin: daily caps, SALES periods, plans in force, HIST dates.
    _Field("timezone", 'an IANA time zone name such as "Africa/Nairobi" or "Asia/Shanghai"',
           _timezone, "UTC"),
    _Field("keywords", "a file path", _string(1), "keywords.toml", "keywords_path"),
    # A running gateway takes up `jifen keywords add|remove` (and edits of the file) this often.
    _Field("keywords_reload_interval", "a number of seconds from 0.1 to 3600",
           _number(float, 0.1, 3600), 2.0),
    # The MOs in a batch wait this long for their acks; SMSCs time out after seconds, not tenths.
    _Field("inbox_batch_window", "a number of seconds from 0 to 1", _number(float, 0, 1), 0.005),
    # Parts of a long MO normally come within seconds; an SMSC retrying a lost one takes minutes.
    _Field("mo_parts_timeout", "a number of seconds from 1 to 86400", _number(float, 1, 86400),
           300.0),
    # 0 turns redelivery recognition off; a day is as long as SMSCs keep retrying.
    _Field("mo_redelivery_window", "a number of seconds from 0 to 86400", _number(float, 0, 86400),
           900.0),
    _Field("secret_key", "empty, or a string of at least 16 characters", _secret_key,
           "${JIFEN_SECRET_KEY:-}", secret=True),
    _choice("log_format", ("console", "json"), "console"),
    _choice("log_level", ("debug", "info", "warning", "error", "critical"), "info"),
)

_BIND_FIELDS = (
    _Field("name", 'a label of letters, digits, "-" or "_"', _string(pattern=r"[A-Za-z0-9_-]{1,32}")),
    _Field("host", "a host name or IP address", _string(1, 253, r"[A-Za-z0-9._:-]+")),
    _Field("port", "an integer from 1 to 65535", _number(int, 1, 65535)),
    # SMPP C-Octet strings: the limits below leave room for the terminating NUL.
    _Field("system_id", "1 to 15 ASCII characters (the SMPP limit)", _string(1, 15, ascii_only=True)),
    _Field("password", "at most 8 ASCII characters (the SMPP limit)", _string(0, 8, ascii_only=True),
           secret=True),
    _Field("system_type", "at most 12 ASCII characters (the SMPP limit)",
           _string(0, 12, ascii_only=True), ""),
    _choice("mode", ("transceiver", "transmitter", "receiver"), "transceiver"),
    _Field("short_codes", 'a non-empty list of quoted digit strings such as ["10655"]', _short_codes),
    _Field("enquire_link_interval", _SECONDS, _number(float, 0, above=True), 30.0),
    _Field("response_timeout", _SECONDS, _number(float, 0, above=True), 10.0),
    _Field("window", "an integer of at least 1", _number(int, 1), 10),
    _Field("tps", "a number of messages per second greater than 0", _number(float, 0, above=True), None),
    _Field("reconnect_initial_delay", _SECONDS, _number(float, 0, above=True), 1.0),
    _Field("reconnect_max_delay", _SECONDS, _number(float, 0, above=True), 60.0),
    _choice("default_data_coding", ("gsm7", "latin1", "ascii"), "gsm7"),
    _choice("receipt_id_format", tuple(ID_FORMATS), "auto"),
    _choice("ussd_dialect", ("", *USSD_DIALECTS), ""),
    _choice("long_messages", ("udh", "message_payload"), "udh"),
)


_LEDGER_FIELDS = (
    _choice("kind", ("embedded", "http"), "embedded"),
    _Field("url", "an http:// or https:// URL such as \"http://ledger.internal:8088\"",
           _http_url, ""),
    _Field("namespace", 'a label of letters, digits, "-" or "_"',
           _string(pattern=r"[A-Za-z0-9_-]{1,16}"), "jifen"),
    _Field("timeout", _SECONDS, _number(float, 0, above=True), 5.0),
    _Field("attempts", "an integer from 1 to 20", _number(int, 1, 20), 4),
    _Field("retry_initial_delay", _SECONDS, _number(float, 0, above=True), 0.5),
    _Field("retry_max_delay", _SECONDS, _number(float, 0, above=True), 60.0),
    _Field("hold_sweep_interval", _SECONDS, _number(float, 0, above=True), 5.0),
    _Field("read_timeout", _SECONDS, _number(float, 0, above=True), 2.0),
)

_REDEMPTION_FIELDS = (
    _Field("catalog", "a file path", _string(1), "catalog.toml", "catalog_path"),
    _Field("pin_required", "true or false", _boolean, True),
    _Field("pin_attempts", "an integer from 1 to 20", _number(int, 1, 20), 5),
    _Field("pin_lockout", "a number of seconds from 1 to 604800", _number(float, 1, 604800),
           1800.0),
    _Field("max_quantity", "an integer from 1 to 1000", _number(int, 1, 1000), 10),
)


_USSD_FIELDS = (
    _Field("menus", "a file path", _string(1), "ussd.toml", "menus_path"),
    _Field("session_timeout", "a number of seconds from 10 to 3600", _number(float, 10, 3600), 180.0),
    _Field("reply_budget", "a number of seconds from 0.5 to 120", _number(float, 0.5, 120), 15.0),
    _Field("push_bind", "the name of a bind whose ussd_dialect can push", _string(0, 64), ""),
)

_USSD_HTTP_FIELDS = (
    _Field("port", "an integer from 1 to 65535", _number(int, 1, 65535), None, "http_port"),
    _Field("interface", "an IP address to listen on", _string(1, 64, r"[0-9A-Fa-f.:]+"), "127.0.0.1",
           "http_interface"),
    _Field("path", 'a URL path such as "/ussd"', _string(2, 64, r"/[A-Za-z0-9_/.-]+"), "/ussd",
           "http_path"),
    _Field("secret", "a string of at least 16 characters", _string(16, 256), "", "http_secret",
           secret=True),
    _Field("allow", 'a list of IP addresses such as ["127.0.0.1"]', _addresses, (), "http_allow"),
    _Field("max_body", "an integer from 256 to 65536 (bytes)", _number(int, 256, 65536), 4096,
           "http_max_body"),
)


_AGENTS_FIELDS = (
    _Field("rules", "a file path", _string(1), "agents.toml", "rules_path"),
    _Field("commissions", "a file path", _string(1), "commissions.toml", "commissions_path"),
    _Field("hold_timeout", "a whole number of seconds from 30 to 86400", _number(int, 30, 86400), 600),
    _Field("code_attempts", "an integer from 1 to 10", _number(int, 1, 10), 3),
    _Field("reversal_window", "a number of seconds from 0 to 604800", _number(float, 0, 604800),
           1800.0),
    _Field("dispute_window", "a number of seconds from 0 to 2592000", _number(float, 0, 2592000),
           86400.0),
    _Field("settlement_currency", 'a currency code such as "KES"', _string(3, 3, r"[A-Z]{3}"), "KES"),
    _Field("settlement_per_point", "an integer from 0 to 1000000", _number(int, 0, 1_000_000), 1),
    _Field("sweep_interval", _SECONDS, _number(float, 0, above=True), 5.0),
)


# --- walking the document ----------------------------------------------------------------------

def _build(data: dict, source: str, env: Mapping[str, str], base_dir: Path) -> GatewayConfig:
    _reject_unknown(data, ("gateway", "smsc", "ledger", "redemption", "ussd", "ussd_http",
                              "agents"),
                    "the top level")
    gateway = _section(_table(data, "gateway"), _GATEWAY_FIELDS, "gateway", "[gateway]", env)
    keywords = base_dir / os.path.expanduser(gateway.pop("keywords_path"))
    return GatewayConfig(source=source, keywords_path=os.path.abspath(keywords),
                         binds=_binds(_table(data, "smsc"), env), ledger=_ledger(data, env),
                         redemption=_redemption(data, env, base_dir),
                         ussd=_ussd(data, env, base_dir),
                         agents=_agents(data, env, base_dir), **gateway)


def _ledger(data: dict, env: Mapping[str, str]) -> LedgerConfig:
    ledger = LedgerConfig(**_section(_table(data, "ledger"), _LEDGER_FIELDS, "ledger",
                                     "[ledger]", env))
    if ledger.kind == "http" and not ledger.url:
        raise _Bad('kind = "http" needs the url of the ledger service', "ledger.url")
    if ledger.retry_max_delay < ledger.retry_initial_delay:
        raise _Bad(f"must be at least retry_initial_delay ({ledger.retry_initial_delay:g})",
                   "ledger.retry_max_delay")
    return ledger


def _redemption(data: dict, env: Mapping[str, str], base_dir: Path) -> RedemptionConfig:
    fields = _section(_table(data, "redemption"), _REDEMPTION_FIELDS, "redemption",
                      "[redemption]", env)
    catalog = base_dir / os.path.expanduser(fields.pop("catalog_path"))
    return RedemptionConfig(catalog_path=os.path.abspath(catalog), **fields)


def _ussd(data: dict, env: Mapping[str, str], base_dir: Path) -> UssdConfig:
    fields = _section(_table(data, "ussd"), _USSD_FIELDS, "ussd", "[ussd]", env)
    http = _section(_table(data, "ussd_http"), _USSD_HTTP_FIELDS, "ussd_http", "[ussd_http]", env)
    if http["http_port"] is not None and not (http["http_secret"] or http["http_allow"]):
        raise _Bad("the callback needs a secret or an allow-list of addresses", "ussd_http.secret")
    menus = base_dir / os.path.expanduser(fields.pop("menus_path"))
    return UssdConfig(menus_path=os.path.abspath(menus), **fields, **http)


def _agents(data: dict, env: Mapping[str, str], base_dir: Path) -> AgentsConfig:
    fields = _section(_table(data, "agents"), _AGENTS_FIELDS, "agents", "[agents]", env)
    paths = {key: os.path.abspath(base_dir / os.path.expanduser(fields.pop(key)))
             for key in ("rules_path", "commissions_path")}
    return AgentsConfig(**paths, **fields)


def _binds(smsc: dict, env: Mapping[str, str]) -> tuple[BindConfig, ...]:
    _reject_unknown(smsc, ("binds",), "[smsc]")
    tables = smsc.get("binds")
    if tables is None:
        raise _Bad("no SMSC bind configured (add a [[smsc.binds]] table)", "smsc.binds")
    if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
        raise _Bad(f"expected one or more [[smsc.binds]] tables, got {_show(tables)}", "smsc.binds")
    binds: list[BindConfig] = []
    for i, table in enumerate(tables):
        path = f"smsc.binds[{i}]"
        bind = BindConfig(**_section(table, _BIND_FIELDS, path, path, env))
        for j, other in enumerate(binds):
            if other.name == bind.name:
                raise _Bad(f'duplicate bind name "{bind.name}" (also smsc.binds[{j}])', f"{path}.name")
            # A short code has one way in and one way out: a transceiver, or a receiver plus a
            # transmitter. Two binds answering it would split a member's conversation between them.
            shared = sorted(set(bind.short_codes) & set(other.short_codes))
            clash = _mode_clash(bind.mode, other.mode)
            if shared and clash:
                raise _Bad(f'short code "{shared[0]}" already has a {clash} bind, "{other.name}" '
                           f"(smsc.binds[{j}]): it takes one transceiver, or one receiver and one "
                           "transmitter", f"{path}.short_codes")
        if bind.reconnect_max_delay < bind.reconnect_initial_delay:
            raise _Bad(f"must be at least reconnect_initial_delay ({bind.reconnect_initial_delay:g})",
                       f"{path}.reconnect_max_delay")
        binds.append(bind)
    return tuple(binds)


def _mode_clash(mode: str, other: str) -> str:
    """What two binds of these modes would both do for a short code ("" if they can share it)."""
    if "receiver" not in (mode, other):
        return "transmitting"
    if "transmitter" not in (mode, other):
        return "receiving"
    return ""


def check_keywords(config: GatewayConfig) -> None:
    """The keywords file loads and has the default language; else one-line ConfigError."""
    from gateway.commands.grammar import KeywordTable

    try:
        table = KeywordTable.load(config.keywords_path)
    except FileNotFoundError:
        raise ConfigError(f"{config.source}: gateway.keywords: no such file "
                          f"{config.keywords_path}") from None
    except (OSError, ValueError) as error:
        raise ConfigError(str(error).splitlines()[0]) from None
    if config.default_language not in table.languages:
        raise ConfigError(
            f"{config.source}: gateway.default_language: {config.default_language!r} has no "
            f"keywords in {config.keywords_path} (it has {', '.join(table.languages)})")
