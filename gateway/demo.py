"""`jifen demo`: the whole gateway in one process, on the embedded defaults.

A fresh SQLite database under var/, the sample members and catalogue, the SMSC simulator
on a free loopback port and the gateway bound to it over real TCP.  Each
line ``<msisdn> <text>`` is delivered by the simulator as an MO, and what the
gateway submits back is printed as it arrives: every reply shown travelled
over SMPP twice.  With ``--script FILE`` the lines come from a file and the
demo exits non-zero if any message goes unanswered.

The demo turns on the push of shop requests (`[ussd] push_bind`, gateway/ussd_push.py) on the
first bind when its dialect can push and the config names no push bind: a shop's RDM then also
shows "1 Approve 2 Refuse" on the member's phone, and that phone's next menu choice (1, 2)
answers it; any other line from it goes by SMS as before.
"""

from __future__ import annotations

import random
import re
import sys
import tomllib
from dataclasses import replace
from pathlib import Path

from twisted.internet import defer, task, threads

from gateway import catalog, msisdn
from gateway.app import Gateway
from gateway.smpp.simulator import Simulator
from gateway.smpp.simulator_ussd import UssdNetwork, UssdPhone
from gateway.store import migrate
from gateway.store.members import add_member
from gateway.ussd import DIALECTS

SAMPLE_MEMBERS = Path(__file__).resolve().parents[1] / "config" / "sample_members.toml"
SAMPLE_AGENTS = Path(__file__).resolve().parents[1] / "config" / "sample_agents.csv"
DEMO_SEED = 2026   # confirmation codes in the demo come from a seeded generator: scripts can answer
DEMO_DATABASE = Path("var") / "demo.db"
REPLY_TIMEOUT = 10.0
USSD_CODE = re.compile(r"\*[0-9*]+#")    # a service code dialled: *123# or *123*5#
MENU_CHOICE = re.compile(r"[0-9]{1,2}")  # what answers a pushed screen ("1 Approve 2 Refuse")
SETTLE = 0.3       # seconds to wait after a reply for the other MTs its message caused


class UnansweredMessage(Exception):
    """An MO in a script got no reply in time."""


def fresh_database(path: Path) -> str:
    for stale in path.parent.glob(path.name + "*"):
        stale.unlink()
    return f"sqlite:///{path}"


def seed(gateway: Gateway, path: Path = SAMPLE_MEMBERS) -> list[dict]:
    """Load the sample members; blocking, so call it off the reactor."""
    members = tomllib.loads(path.read_text(encoding="utf-8"))["members"]
    with gateway.engine.begin() as conn:
        for member in members:
            member["msisdn"] = msisdn.address_of(member["msisdn"], gateway.config.phone_region)
            add_member(conn, gateway.ledger, now=gateway.now(), **member)
    return members


def _prepare(engine, gateway):
    migrate.upgrade(engine)
    catalog_file = Path(gateway.config.redemption.catalog_path)
    with engine.begin() as conn:
        catalog.load(conn, catalog.parse(catalog_file.read_text(encoding="utf-8"),
                                         str(catalog_file)), gateway.now())
    seed_agents(gateway)
    return seed(gateway)


def seed_agents(gateway: Gateway, path: Path = SAMPLE_AGENTS) -> None:
    """The sample network (master > sub-agent > shops), with confirmation codes a script knows."""
    from gateway.agency import network
    with gateway.engine.begin() as conn:
        result = network.import_csv(conn, path.read_text(encoding="utf-8"),
                                    lambda raw: msisdn.normalize(raw, gateway.config.phone_region),
                                    gateway.now())
    if not result.ok:
        raise ValueError("; ".join(map(str, result.errors)))
    if gateway.agency is not None:
        gateway.agency.rng = random.Random(DEMO_SEED)


class Console:
    """Prints MTs as the simulator collects them and lets a script wait for them."""

    def __init__(self, simulator, out):
        self._simulator = simulator
        self._out = out
        self._waiting: dict[str, list[defer.Deferred]] = {}

    @defer.inlineCallbacks
    def print_replies(self):
        while True:
            mt = yield self._simulator.next_mt()
            coding = "UCS-2" if mt.data_coding == 8 else "GSM-7"
            self._out.write(f"  {mt.destination_addr} <- {mt.text}   [{coding}]\n")
            self._out.flush()
            for waiting in self._waiting.pop(mt.destination_addr, []):
                waiting.callback(mt)

    def reply_to(self, address: str, clock) -> defer.Deferred:
        waiting = defer.Deferred()
        self._waiting.setdefault(address, []).append(waiting)
        return waiting.addTimeout(REPLY_TIMEOUT, clock)


class UssdConsole:
    """USSD dialogues in the demo: `<msisdn> *123#` dials, and that phone's next lines answer the
    menus until the gateway ends the dialogue. A screen pushed to a watched phone is printed as it
    comes, and that phone's next menu choice answers it. Each screen is printed as the phone
    shows it."""

    def __init__(self, network: UssdNetwork, clock, out):
        self.network, self._clock, self._out = network, clock, out
        self._open: dict[str, UssdPhone] = {}
        self._pushed: dict[str, UssdPhone] = {}

    def watch_pushes(self, addresses) -> None:
        """Show what the gateway pushes to these phones (the sample members)."""
        for address in addresses:
            self._next_push(address)

    def _next_push(self, address: str) -> None:
        self.network.next_push(address).addCallback(self._push_came, address)

    def _push_came(self, push, address: str) -> None:
        self._pushed[address] = self.network.phone(address).accept(push)
        self._show(address, push, "push")
        self._next_push(address)

    def takes(self, address: str, text: str) -> bool:
        """A service code (``*...#``), an answer from a phone in a dialogue, or a menu choice
        from a phone showing a push (a member who ignores a push answers by SMS instead)."""
        text = text.strip()
        return (address in self._open or USSD_CODE.fullmatch(text) is not None
                or (address in self._pushed and MENU_CHOICE.fullmatch(text) is not None))

    @defer.inlineCallbacks
    def send(self, address: str, text: str):
        text = text.strip()
        if USSD_CODE.fullmatch(text):
            self._open.pop(address, None)
            self._pushed.pop(address, None)     # dialling leaves a push unanswered
            phone = self.network.phone(address)
            screen = yield phone.dial(text).addTimeout(REPLY_TIMEOUT, self._clock)
        else:
            phone = self._open.pop(address, None) or self._pushed.pop(address)
            screen = yield phone.answer(text).addTimeout(REPLY_TIMEOUT, self._clock)
        if not screen.ends:
            self._open[address] = phone
        self._show(address, screen, "end" if screen.ends else "")

    def _show(self, address: str, screen, label: str) -> None:
        shown = "\n    ".join(screen.text.splitlines())
        self._out.write(f"  {address} <= [USSD{' ' + label if label else ''}]\n    {shown}\n")
        self._out.flush()


def with_push(config):
    """The config with shop requests pushed on the first bind, when its dialect can push and no
    push bind is set: the demo shows the push; `jifen run` keeps it off unless configured."""
    bind = config.binds[0]
    chosen = DIALECTS.get(bind.ussd_dialect or "")
    if config.ussd.push_bind or chosen is None or not chosen.pushes:
        return config
    return replace(config, ussd=replace(config.ussd, push_bind=bind.name))


@defer.inlineCallbacks
def run(reactor, config, script: str | None = None, out=sys.stdout):
    """The demo; fires with the exit code."""
    config = replace(config, database_url=fresh_database(DEMO_DATABASE))
    simulator = Simulator({b.system_id: b.password for b in config.binds})
    port = simulator.listen(reactor)
    config = with_push(replace(config, binds=tuple(replace(b, host="127.0.0.1", port=port)
                                                   for b in config.binds)))
    gateway = Gateway(config, reactor)
    members = yield threads.deferToThread(_prepare, gateway.engine, gateway)
    yield gateway.startService()
    yield simulator.wait_bound()
    short_code = config.binds[0].short_codes[0]
    out.write(_banner(port, short_code, members, script))
    console = Console(simulator, out)
    console.print_replies()
    dialect = config.binds[0].ussd_dialect
    ussd = UssdConsole(UssdNetwork(simulator, dialect), reactor, out) if dialect else None
    if ussd is not None and config.ussd.push_bind:
        ussd.watch_pushes(m["msisdn"] for m in members)
    unanswered = 0
    try:
        lines = _script_lines(script) if script else None
        while True:
            line = lines.pop(0) if lines else (None if script else
                                               (yield threads.deferToThread(_prompt, out)))
            if line is None or line.strip().lower() in ("quit", "exit"):
                break
            sent = _parse_line(line)
            if sent is None:
                out.write("  (type: <msisdn> <text>, e.g. 254712345678 BAL)\n")
                continue
            phone, text = sent
            out.write(f"{phone} -> {text}\n")
            address = msisdn.address_of(phone, config.phone_region)
            try:
                if ussd is not None and ussd.takes(address, text):
                    yield ussd.send(address, text)
                else:
                    reply = console.reply_to(address, reactor)
                    yield simulator.deliver(phone, short_code, text)
                    yield reply
                # An answer may send more than the reply (an agent's RDM prompts the member):
                # let those print before the next line is sent.
                yield task.deferLater(reactor, SETTLE, lambda: None)
            except defer.TimeoutError:
                unanswered += 1
                out.write(f"  (no reply within {REPLY_TIMEOUT:g} s)\n")
    finally:
        if ussd is not None:
            ussd.network.close()
        yield gateway.stopService()
        yield simulator.stop()
    return 1 if unanswered else 0


def _banner(port, short_code, members, script):
    people = "\n".join(f"    {m['msisdn']:<15} {m['name']}" for m in members)
    how = "" if script else (
        "Type <msisdn> <text>, e.g. `254712345678 BAL` or `8613800138000 余额`; "
        "`254712345678 *123#` dials USSD, and that phone's next lines answer the menus; "
        "`quit` to stop.\n")
    return (f"Jifen demo: gateway bound over SMPP to the simulator on 127.0.0.1:{port}, "
            f"short code {short_code}.\nSample members:\n{people}\n{how}")


def _script_lines(path: str) -> list[str]:
    return [line for line in Path(path).read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def _prompt(out) -> str | None:
    out.write("> ")
    out.flush()
    line = sys.stdin.readline()
    return line if line else None


def _parse_line(line: str) -> tuple[str, str] | None:
    parts = line.strip().split(None, 1)
    if len(parts) != 2 or not any(ch.isdigit() for ch in parts[0]):
        return None
    return parts[0], parts[1]
