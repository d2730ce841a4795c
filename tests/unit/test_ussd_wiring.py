"""The wired USSD engine without a reactor: config checks, `Dialogues` over a real (SQLite) table
with hypothesis sequences of garbage and unknown sessions, and the menu's idempotency key reaching
the SMS handler's service call."""

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine

from gateway.config import USSD_DIALECTS, ConfigError, loads
from gateway.store import schema
from gateway.ussd import DIALECTS, Menus, load
from gateway.ussd.testing import FakeActions
from gateway.ussd_actions import _Keyed
from gateway.ussd_sessions import Dialogues, Request

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)
MINIMAL = """
[gateway]
phone_region = "KE"
[[smsc.binds]]
name = "main"
host = "127.0.0.1"
port = 2775
system_id = "jifen"
password = "x"
short_codes = ["10655"]
"""


def test_config_knows_every_dialect():
    assert USSD_DIALECTS == tuple(DIALECTS)


def test_bind_dialect_is_checked():
    assert loads(MINIMAL + 'ussd_dialect = "umr"\n').binds[0].ussd_dialect == "umr"
    with pytest.raises(ConfigError, match="ussd_dialect"):
        loads(MINIMAL + 'ussd_dialect = "smpp6"\n')


def test_callback_needs_a_secret_or_an_allow_list():
    with pytest.raises(ConfigError, match="ussd_http.secret"):
        loads(MINIMAL + "[ussd_http]\nport = 8080\n")
    config = loads(MINIMAL + '[ussd_http]\nport = 8080\nallow = ["127.0.0.1"]\n[ussd]\nreply_budget = 5\n')
    assert (config.ussd.http_port, config.ussd.http_allow, config.ussd.reply_budget) == (
        8080, ("127.0.0.1",), 5.0)


def test_menu_key_replaces_the_sms_key():
    seen = []

    class Services:
        def redeem(self, member, item, *, key):
            seen.append(key)

    _Keyed(Services(), "main:17:1.000:4").redeem(None, "AIR50", key="mo:1")
    assert seen == ["ussd:main:17:1.000:4"]


@pytest.fixture(scope="module")
def engine():
    engine = create_engine("sqlite://")
    for metadata in schema.ALL_METADATA:
        metadata.create_all(engine)
    return engine


@pytest.fixture(scope="module")
def dialogues():
    return Dialogues(Menus(load(), None), lambda conn, member, request: FakeActions(),
                     timeout=180, sms_from="10655")


answers = st.one_of(st.sampled_from(["1", "2", "0", "00", "98", "3", "AIR50", "1234", ""]),
                    st.text(max_size=300))
requests = st.tuples(st.sampled_from(["begin", "continue", "continue", "end", "abort"]),
                     st.sampled_from(["1", "2", "unknown", "x" * 160]), answers,
                     st.integers(0, 400))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(requests, max_size=12))
def test_any_sequence_gives_a_screen_or_a_clean_end(engine, dialogues, sequence):
    for kind, key, answer, seconds in sequence:
        request = Request("main", kind, "254712345678", key, "123", {}, None if kind == "begin"
                          else answer)
        with engine.begin() as conn:
            step = dialogues.step(conn, request, NOW + timedelta(seconds=seconds))
        if kind in ("end", "abort"):
            assert step.text is None
        else:
            assert isinstance(step.text, str) and step.text
