"""The agent network: master agents over sub-agents over village shops, as plain values.

Start at `Agent` and `problems()`. The network is a mapping of agent code to `Agent`; these functions
check it and derive new ones from it, and never hold state, so the database layer can load the rows,
ask whether a change keeps the tree valid, and only then write it.

The rules (`PARENT_LEVELS` is the one table of who may sit under whom):
- a master agent has no parent; a sub-agent's parent is a master; a shop's parent is a sub-agent, or
  a master that runs its shops directly (commission.py says where the missing sub-agent's share goes);
- a parent must exist and not be closed, so every shop's chain ends at a master;
- a parent is always a level above its child, so the tree can have no cycle (`chain` still refuses
  one, should a broken mapping hold one);
- codes are unique by construction (mapping keys) and match `CODE_PATTERN`; a phone number belongs to
  at most one agent that is not closed, since an RDM is recognised by the phone it comes from;
- closed is final, and an agent with children that are not closed cannot be closed.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

__all__ = [
    "Agent", "CODE_PATTERN", "Level", "NetworkError", "PARENT_LEVELS", "Problem", "Status",
    "added", "agent_problems", "chain", "children", "moved", "problems", "with_status",
]

#: Agent codes are typed on feature phones and printed in SMS: a letter, then 1 to 9 letters or
#: digits, upper case ("A1023").
CODE_PATTERN = re.compile(r"[A-Z][A-Z0-9]{1,9}")
_MSISDN = re.compile(r"[1-9][0-9]{6,14}")  # E.164 digits without "+"
_MAX_TEXT = 60                             # name, location: they go into SMS replies


class Level(enum.Enum):
    """A rung of the hierarchy, lowest first; `rank` orders them."""

    SHOP = "shop"
    SUB_AGENT = "sub_agent"
    MASTER = "master"

    @property
    def rank(self) -> int:
        return list(Level).index(self)


class Status(enum.Enum):
    ACTIVE = "active"
    SUSPENDED = "suspended"  # temporary: refused new redemptions, keeps its place and earnings
    CLOSED = "closed"        # final: keeps its history, may not have open children


#: Who may be whose parent.
PARENT_LEVELS: Mapping[Level, tuple[Level, ...]] = {
    Level.MASTER: (),
    Level.SUB_AGENT: (Level.MASTER,),
    Level.SHOP: (Level.SUB_AGENT, Level.MASTER),
}


@dataclass(frozen=True, kw_only=True)
class Agent:
    code: str
    msisdn: str          # E.164 digits, no "+"
    name: str
    location: str        # village or market
    level: Level
    parent: str | None = None
    status: Status = Status.ACTIVE
    pin_hash: str | None = field(default=None, repr=False)  # argon2, set by the agent by SMS


@dataclass(frozen=True)
class Problem:
    """One way a network breaks the rules: the agent, the field (as the CSV columns name them), why."""

    code: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.field}: {self.message}"


class NetworkError(ValueError):
    def __init__(self, problems: list[Problem] | tuple[Problem, ...]):
        super().__init__("; ".join(str(problem) for problem in problems))
        self.problems = tuple(problems)


def problems(agents: Mapping[str, Agent]) -> list[Problem]:
    """Every rule the network breaks, in mapping order; empty when it is valid.

    A phone number used twice is reported on each agent after the first that holds it, so a caller
    adding agents after the existing ones sees the problem on the new one.
    """
    found: list[Problem] = []
    phones: dict[str, str] = {}
    for key, agent in agents.items():
        if key != agent.code:
            found.append(Problem(agent.code, "code", f"filed under another code, {key}"))
        found += agent_problems(agent)
        found += _parent_problems(agents, agent)
        if agent.status is not Status.CLOSED:
            holder = phones.setdefault(agent.msisdn, agent.code)
            if holder != agent.code:
                found.append(Problem(agent.code, "msisdn", f"{agent.msisdn} is already agent {holder}'s"))
    return found


def agent_problems(agent: Agent) -> list[Problem]:
    """The rules one agent's own fields break, whatever the network around it."""
    found = []
    if not CODE_PATTERN.fullmatch(agent.code):
        found.append(Problem(agent.code, "code", "expected a letter then 1 to 9 letters or digits, "
                                                 "upper case, such as A1023"))
    if not _MSISDN.fullmatch(agent.msisdn):
        found.append(Problem(agent.code, "msisdn", "expected international digits without +"))
    for name, value in (("name", agent.name), ("location", agent.location)):
        if not value.strip() or len(value) > _MAX_TEXT or not value.isprintable():
            found.append(Problem(agent.code, name, f"expected 1 to {_MAX_TEXT} printable characters"))
    return found


def _parent_problems(agents: Mapping[str, Agent], agent: Agent) -> list[Problem]:
    allowed = PARENT_LEVELS[agent.level]
    if agent.parent is None:
        return [Problem(agent.code, "parent", f"a {_name(agent.level)} needs a parent "
                                              f"({_names(allowed)})")] if allowed else []
    if not allowed:
        return [Problem(agent.code, "parent", f"a {_name(agent.level)} has no parent")]
    parent = agents.get(agent.parent)
    if parent is None:
        return [Problem(agent.code, "parent", f"no agent {agent.parent}")]
    if parent.level not in allowed:
        return [Problem(agent.code, "parent", f"{parent.code} is a {_name(parent.level)}; a "
                                              f"{_name(agent.level)}'s parent must be a {_names(allowed)}")]
    if parent.status is Status.CLOSED and agent.status is not Status.CLOSED:
        return [Problem(agent.code, "parent", f"{parent.code} is closed")]
    return []


def _name(level: Level) -> str:
    return level.value.replace("_", "-")


def _names(levels: tuple[Level, ...]) -> str:
    return " or ".join(_name(level) for level in levels)


def _checked(agents: dict[str, Agent], code: str) -> dict[str, Agent]:
    """`agents` if it is valid; else NetworkError with the problems the change to `code` made."""
    # The network before the change was valid (every change goes through here), so any problem is the
    # change's; naming only the changed agent's keeps the message about what the operator just did.
    found = problems(agents)
    if found:
        mine = [problem for problem in found if problem.code == code]
        raise NetworkError(mine or found)
    return agents


def added(agents: Mapping[str, Agent], agent: Agent) -> dict[str, Agent]:
    """The network with `agent` added, or NetworkError saying why it may not be."""
    if agent.code in agents:
        raise NetworkError([Problem(agent.code, "code", "already exists")])
    return _checked({**agents, agent.code: agent}, agent.code)


def moved(agents: Mapping[str, Agent], code: str, new_parent: str) -> dict[str, Agent]:
    """The network with agent `code` (and everything under it) moved under `new_parent`."""
    agent = _existing(agents, code)
    if agent.status is Status.CLOSED:
        raise NetworkError([Problem(code, "status", "is closed")])
    return _checked({**agents, code: replace(agent, parent=new_parent)}, code)


def with_status(agents: Mapping[str, Agent], code: str, status: Status) -> dict[str, Agent]:
    """The network with agent `code` suspended, re-activated or closed."""
    agent = _existing(agents, code)
    if agent.status is Status.CLOSED and status is not Status.CLOSED:
        raise NetworkError([Problem(code, "status", "is closed, which is final (add a new agent)")])
    if status is Status.CLOSED:
        open_children = [child.code for child in children(agents, code) if child.status is not Status.CLOSED]
        if open_children:
            raise NetworkError([Problem(code, "status", "cannot close an agent with open agents under "
                                                        "it (move or close them first: "
                                                        + ", ".join(open_children) + ")")])
    return _checked({**agents, code: replace(agent, status=status)}, code)


def _existing(agents: Mapping[str, Agent], code: str) -> Agent:
    if code not in agents:
        raise NetworkError([Problem(code, "code", "no such agent")])
    return agents[code]


def children(agents: Mapping[str, Agent], code: str) -> list[Agent]:
    """The agents directly under `code`."""
    return [agent for agent in agents.values() if agent.parent == code]


def chain(agents: Mapping[str, Agent], code: str) -> tuple[Agent, ...]:
    """Agent `code` and its parents up to the top: (shop, sub-agent, master), lowest first."""
    links = [_existing(agents, code)]
    current = links[0].parent
    while current is not None:
        if current not in agents:
            raise NetworkError([Problem(links[-1].code, "parent", f"no agent {current}")])
        agent = agents[current]
        if any(link.code == agent.code for link in links):
            raise NetworkError([Problem(code, "parent", "the chain of parents loops back on itself")])
        links.append(agent)
        current = agent.parent
    return tuple(links)
