"""`jifen agents` and `jifen report agents`: the village shop network and its monthly report.

    jifen agents list
    jifen agents add CODE MSISDN NAME LOCATION LEVEL [--parent CODE] [--pin PIN]
    jifen agents suspend|activate|close CODE
    jifen agents move CODE NEW_PARENT
    jifen agents import FILE.csv            every row checked; all or nothing
    jifen report agents --month 2026-11 [--csv]

Every change is checked against the whole network by agents/ (levels, parents, one phone per
agent) before it is written; a refusal is one line per problem and exit status 1.
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

import agents as rules
from gateway import local_days, msisdn
from gateway.agency import network, report
from gateway.cli.core import CommandError, migrated_engine
from gateway.redeem.pins import default_hasher


def register(commands) -> None:
    parser = commands.add_parser("agents", help="the village shop agent network")
    actions = parser.add_subparsers(required=True, metavar="ACTION")
    actions.add_parser("list", help="every agent").set_defaults(handler=_list)
    add = actions.add_parser("add", help="add one agent")
    for name in ("code", "msisdn", "name", "location"):
        add.add_argument(name)
    add.add_argument("level", choices=[level.value for level in rules.Level])
    add.add_argument("--parent")
    add.add_argument("--pin", help="the agent's PIN for RDM (4 to 6 digits); stored hashed")
    add.set_defaults(handler=_add)
    for status in ("suspend", "activate", "close"):
        change = actions.add_parser(status, help=f"{status} an agent")
        change.add_argument("code")
        change.set_defaults(handler=_status, status=_STATUS[status])
    move = actions.add_parser("move", help="put an agent (and all under it) under another parent")
    move.add_argument("code")
    move.add_argument("parent")
    move.set_defaults(handler=_move)
    load = actions.add_parser("import", help="add the agents of a CSV file, all or nothing")
    load.add_argument("file")
    load.set_defaults(handler=_import)
    reports = commands.add_parser("report", help="reports")
    kinds = reports.add_subparsers(required=True, metavar="REPORT")
    month = kinds.add_parser("agents", help="redemptions, points, commission per agent and level")
    month.add_argument("--month", required=True, help="such as 2026-11")
    month.add_argument("--csv", action="store_true", help="CSV instead of a table")
    month.set_defaults(handler=_report)


_STATUS = {"suspend": rules.Status.SUSPENDED, "activate": rules.Status.ACTIVE,
           "close": rules.Status.CLOSED}


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _list(config, args):
    with migrated_engine(config).connect() as conn:
        agents = network.load_network(conn)
    for agent in agents.values():
        print(f"{agent.code:<10} {agent.level.value:<9} {agent.status.value:<9} "
              f"{agent.parent or '-':<10} {agent.msisdn:<15} {agent.name} ({agent.location})")
    if not agents:
        print("no agents yet: jifen agents add ... or jifen agents import FILE.csv")


def _add(config, args):
    number = msisdn.normalize(args.msisdn, config.phone_region)
    if number is None:
        raise CommandError(f"{args.msisdn!r} is not a phone number in region {config.phone_region}")
    if args.pin is not None and not (args.pin.isdigit() and 4 <= len(args.pin) <= 6):
        raise CommandError("a PIN is 4 to 6 digits")
    agent = rules.Agent(code=args.code.strip().upper(), msisdn=number, name=args.name.strip(),
                        location=args.location.strip(), level=rules.Level(args.level),
                        parent=args.parent and args.parent.strip().upper(),
                        pin_hash=args.pin and default_hasher().hash(args.pin))
    _change(config, lambda conn: network.add(conn, agent, _now()))
    print(f"added {agent.code}")


def _status(config, args):
    _change(config, lambda conn: network.set_status(conn, args.code.upper(), args.status, _now()))
    print(f"{args.code.upper()} is {args.status.value}")


def _move(config, args):
    _change(config, lambda conn: network.move(conn, args.code.upper(), args.parent.upper(), _now()))
    print(f"{args.code.upper()} is under {args.parent.upper()}")


def _change(config, change) -> None:
    try:
        with migrated_engine(config).begin() as conn:
            change(conn)
    except rules.NetworkError as error:
        raise CommandError("; ".join(str(problem) for problem in error.problems)) from None


def _import(config, args):
    try:
        data = Path(args.file).read_bytes()
    except OSError as error:
        raise CommandError(f"{args.file}: {error.strerror}") from None
    with migrated_engine(config).begin() as conn:
        result = network.import_csv(
            conn, data, lambda raw: msisdn.normalize(raw, config.phone_region), _now())
    if not result.ok:
        for problem in result.errors:
            print(f"{args.file}: {problem}", file=sys.stderr)
        raise CommandError(f"{args.file}: nothing imported ({len(result.errors)} problems)")
    print(f"imported {len(result.agents)} agents")


def _report(config, args):
    with migrated_engine(config).connect() as conn:
        try:
            month = report.month(conn, args.month, local_days.zone(config.timezone))
        except ValueError as error:
            raise CommandError(str(error)) from None
    sys.stdout.write(rules.render_csv(month) if args.csv else rules.render_table(month))
