"""AGPIN beneath the SMS command, on SQLite and PostgreSQL: the first PIN, a change, and the wrong-PIN
lock-out it shares with RDM; neither PIN ever logged."""

from __future__ import annotations

from structlog.testing import capture_logs

from agent_fixtures import JANE, SHOP, Agency
from gateway.agency.agent_pins import set_pin
from gateway.commands.agent_values import Refusal, Started
from redeem_fixtures import gateway_engine  # noqa: F401  (fixture)


def test_a_first_pin_then_a_change_and_rdm_asks_for_the_pin_in_force(gateway_engine):  # noqa: F811
    agency = Agency(gateway_engine)
    with capture_logs() as logs:
        assert agency.call(set_pin, SHOP, "2468", "1357") == Refusal("no_pin_yet")
        assert agency.call(set_pin, SHOP, "2468", None) == "set"
        assert agency.rdm() == Refusal("pin_required")
        assert isinstance(agency.rdm(pin="2468"), Started)
        assert agency.call(set_pin, SHOP, "1357", None) == Refusal("pin_old_needed")
        assert agency.call(set_pin, SHOP, "2468", "1357") == "changed"
        assert agency.rdm(pin="2468") == Refusal("wrong_pin")
        agency.tick(minutes=2)
        assert isinstance(agency.rdm(pin="1357"), Started)
    assert [e["event"] for e in logs if e["event"].startswith("agents.pin")] == [
        "agents.pin_set", "agents.pin_changed"]
    assert not any(pin in str(logs) for pin in ("2468", "1357"))
    assert agency.call(set_pin, JANE, "2468", None) == Refusal("not_agent")


def test_wrong_old_pins_lock_the_agent_out_of_agpin_and_rdm_alike(gateway_engine):  # noqa: F811
    agency = Agency(gateway_engine)
    agency.call(set_pin, SHOP, "2468", None)
    assert agency.rdm(pin="1111") == Refusal("wrong_pin")                 # one through RDM
    assert [agency.call(set_pin, SHOP, "1111", "9999") for _ in range(2)] == [
        Refusal("wrong_pin")] * 2                                          # the third locks
    locked = agency.call(set_pin, SHOP, "2468", "9999")
    assert locked == Refusal("agent_locked", {"minutes": 30})
    assert agency.rdm(pin="2468").code == "agent_locked"
    agency.tick(minutes=31)
    assert agency.call(set_pin, SHOP, "2468", "9999") == "changed"
    assert isinstance(agency.rdm(pin="9999"), Started)
