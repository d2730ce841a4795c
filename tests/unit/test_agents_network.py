"""The agent hierarchy: which networks are valid, and which changes keep them so."""

import zlib

import pytest

from agents import Agent, Level, NetworkError, Status, added, chain, children, moved, problems, with_status


def agent(code, level, parent=None, msisdn=None, status=Status.ACTIVE, **fields):
    msisdn = msisdn or f"25479{zlib.crc32(code.encode()) % 10**7:07d}"
    return Agent(code=code, msisdn=msisdn, name=f"Agent {code}", location="Nyeri", level=level, parent=parent,
                 status=status, **fields)


def network(*agents):
    return {a.code: a for a in agents}


M1 = agent("M1", Level.MASTER, msisdn="254700000001")
M2 = agent("M2", Level.MASTER, msisdn="254700000002")
S10 = agent("S10", Level.SUB_AGENT, "M1", msisdn="254700000010")
S20 = agent("S20", Level.SUB_AGENT, "M2", msisdn="254700000020")
A1023 = agent("A1023", Level.SHOP, "S10", msisdn="254700001023")
A2000 = agent("A2000", Level.SHOP, "M1", msisdn="254700002000")   # a shop run directly by its master
BASE = network(M1, M2, S10, S20, A1023, A2000)


def messages(net):
    return [str(problem) for problem in problems(net)]


def test_a_valid_network_has_no_problems():
    assert problems(BASE) == []


def test_chain_runs_from_the_agent_up_to_its_master():
    assert [a.code for a in chain(BASE, "A1023")] == ["A1023", "S10", "M1"]
    assert [a.code for a in chain(BASE, "A2000")] == ["A2000", "M1"]
    assert [a.code for a in chain(BASE, "M2")] == ["M2"]


def test_chain_refuses_an_unknown_agent_and_a_loop():
    with pytest.raises(NetworkError, match="X9: code: no such agent"):
        chain(BASE, "X9")
    with pytest.raises(NetworkError, match="S10: parent: no agent S99"):
        chain({**BASE, "S10": agent("S10", Level.SUB_AGENT, "S99")}, "A1023")
    looped = {**BASE, "M1": agent("M1", Level.MASTER, "A1023", msisdn="254700000001")}
    with pytest.raises(NetworkError, match="loops back"):
        chain(looped, "A1023")


@pytest.mark.parametrize("bad, message", [
    (agent("A3000", Level.SHOP, "A1023"), "A3000: parent: A1023 is a shop; a shop's parent must be a sub-agent "
                                          "or master"),
    (agent("S30", Level.SUB_AGENT, "S10"), "S30: parent: S10 is a sub-agent; a sub-agent's parent must be a "
                                           "master"),
    (agent("S30", Level.SUB_AGENT), "S30: parent: a sub-agent needs a parent (master)"),
    (agent("A3000", Level.SHOP), "A3000: parent: a shop needs a parent (sub-agent or master)"),
    (agent("M3", Level.MASTER, "M1"), "M3: parent: a master has no parent"),
    (agent("A3000", Level.SHOP, "S99"), "A3000: parent: no agent S99"),
    (agent("a3000", Level.SHOP, "S10"), "a3000: code: expected a letter then 1 to 9 letters or digits"),
    (agent("A", Level.SHOP, "S10"), "A: code: expected a letter"),
    (agent("A12345678901", Level.SHOP, "S10"), "code: expected a letter"),
    (agent("A3000", Level.SHOP, "S10", msisdn="+254700003000"), "A3000: msisdn: expected international digits"),
    (agent("A3000", Level.SHOP, "S10", msisdn="254700001023"), "A3000: msisdn: 254700001023 is already agent "
                                                               "A1023's"),
    (Agent(code="A3000", msisdn="254700003000", name=" ", location="X", level=Level.SHOP, parent="S10"),
     "A3000: name: expected 1 to 60 printable characters"),
    (Agent(code="A3000", msisdn="254700003000", name="Shop\x00Li", location="X", level=Level.SHOP, parent="S10"),
     "A3000: name: expected 1 to 60 printable characters"),
    (Agent(code="A3000", msisdn="254700003000", name="Shop", location="x" * 61, level=Level.SHOP, parent="S10"),
     "A3000: location: expected 1 to 60 printable characters"),
])
def test_adding_an_agent_that_breaks_a_rule_is_refused(bad, message):
    with pytest.raises(NetworkError) as caught:
        added(BASE, bad)
    assert message in str(caught.value)
    assert bad.code not in BASE  # nothing changed


def test_adding_a_valid_agent_returns_a_new_network():
    shop = agent("A3000", Level.SHOP, "S20", msisdn="254700003000")
    grown = added(BASE, shop)
    assert grown["A3000"] == shop and "A3000" not in BASE
    with pytest.raises(NetworkError, match="A3000: code: already exists"):
        added(grown, shop)


def test_a_closed_agents_phone_may_serve_a_new_agent():
    closed = with_status(BASE, "A2000", Status.CLOSED)
    assert "A3000" in added(closed, agent("A3000", Level.SHOP, "S10", msisdn="254700002000"))


def test_moving_an_agent_takes_its_subtree_along():
    moved_net = moved(BASE, "S10", "M2")
    assert [a.code for a in chain(moved_net, "A1023")] == ["A1023", "S10", "M2"]
    assert [a.code for a in chain(moved_net, "A2000")] == ["A2000", "M1"]


@pytest.mark.parametrize("code, parent, message", [
    ("S10", "A1023", "S10: parent: A1023 is a shop"),          # under its own child: would be a cycle
    ("M1", "M2", "M1: parent: a master has no parent"),
    ("A1023", "A2000", "A1023: parent: A2000 is a shop"),
    ("A1023", "X1", "A1023: parent: no agent X1"),
    ("X1", "M1", "X1: code: no such agent"),
])
def test_a_move_that_breaks_the_tree_is_refused(code, parent, message):
    with pytest.raises(NetworkError, match=message):
        moved(BASE, code, parent)


def test_a_closed_agent_cannot_be_moved_or_reopened_and_nothing_new_goes_under_it():
    closed = with_status(BASE, "A2000", Status.CLOSED)
    with pytest.raises(NetworkError, match="A2000: status: is closed"):
        moved(closed, "A2000", "S10")
    with pytest.raises(NetworkError, match="closed, which is final"):
        with_status(closed, "A2000", Status.ACTIVE)
    empty_sub = with_status(added(BASE, agent("S30", Level.SUB_AGENT, "M2", msisdn="254700000030")), "S30",
                            Status.CLOSED)
    with pytest.raises(NetworkError, match="A3000: parent: S30 is closed"):
        added(empty_sub, agent("A3000", Level.SHOP, "S30", msisdn="254700003000"))
    with pytest.raises(NetworkError, match="A1023: parent: S30 is closed"):
        moved(empty_sub, "A1023", "S30")


def test_an_agent_with_open_children_cannot_be_closed_but_can_be_suspended():
    with pytest.raises(NetworkError, match=r"S10: status: cannot close .* \(move or close them first: A1023"):
        with_status(BASE, "S10", Status.CLOSED)
    assert with_status(BASE, "S10", Status.SUSPENDED)["S10"].status is Status.SUSPENDED
    emptied = with_status(BASE, "A1023", Status.CLOSED)
    assert with_status(emptied, "S10", Status.CLOSED)["S10"].status is Status.CLOSED


def test_problems_reports_every_rule_broken_in_a_whole_network():
    broken = {**BASE, "S20": agent("S20", Level.SUB_AGENT, "A1023", msisdn="254700000001"),
              "Z1": agent("Z1", Level.SHOP, "M1", msisdn="254700009999")}
    broken["Y1"] = broken.pop("Z1")
    assert messages(broken) == [
        "S20: parent: A1023 is a shop; a sub-agent's parent must be a master",
        "S20: msisdn: 254700000001 is already agent M1's",
        "Z1: code: filed under another code, Y1",
    ]


def test_children_are_the_agents_directly_under():
    assert {a.code for a in children(BASE, "M1")} == {"S10", "A2000"}
    assert children(BASE, "A1023") == []


def test_the_pin_hash_stays_out_of_reprs():
    assert "argon2" not in repr(agent("A3000", Level.SHOP, "S10", pin_hash="$argon2id$v=19$secret"))
