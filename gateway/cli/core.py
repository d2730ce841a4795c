"""The core commands: demo, run, db, members."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

from twisted.internet import defer, task

from gateway import logs, msisdn
from gateway.store import migrate
from gateway.store.db import make_engine
from sqlalchemy.exc import OperationalError


class CommandError(Exception):
    """A command cannot do what was asked; the message is the one line to show."""


def migrated_engine(config):
    """An engine on the configured database, which must be at the current schema."""
    engine = make_engine(config.database_url)
    try:
        with engine.connect() as conn:
            revision = migrate.current(conn)
    except OperationalError as error:
        raise CommandError(f"cannot reach the database: {str(error.orig).splitlines()[0]}")
    if revision != migrate.head():
        raise CommandError(f"the database is at schema {revision or 'none'}, not "
                           f"{migrate.head()}: run `jifen db upgrade` first")
    return engine


def register(commands) -> None:
    demo = commands.add_parser("demo", help="run the gateway against the built-in SMSC simulator")
    demo.add_argument("--script", help="read `<msisdn> <text>` lines from FILE and exit")
    demo.set_defaults(handler=_demo)

    run = commands.add_parser("run", help="run the gateway daemon")
    run.set_defaults(handler=_run)

    db = commands.add_parser("db", help="database schema")
    db.add_argument("action", choices=["upgrade", "current", "check"])
    db.set_defaults(handler=_db)

    members = commands.add_parser("members", help="members")
    actions = members.add_subparsers(required=True, metavar="ACTION")
    add = actions.add_parser("add", help="register a member")
    add.add_argument("msisdn")
    add.add_argument("name")
    add.add_argument("--points", type=int, default=0, help="opening balance, once")
    add.add_argument("--language", default=None)
    add.set_defaults(handler=_members_add)
    listing = actions.add_parser("list", help="list members and balances")
    listing.set_defaults(handler=_members_list)


def _demo(config, args):
    from gateway import demo

    Path("var").mkdir(exist_ok=True)
    logs.configure(config.log_format, config.log_level,
                   stream=open(Path("var") / "demo.log", "a", encoding="utf-8"))
    if args.script and not Path(args.script).is_file():
        print(f"jifen: no such script file: {args.script}", file=sys.stderr)
        return 2
    return _react(lambda reactor: demo.run(reactor, config, args.script))


def _run(config, args):
    from gateway.app import Gateway, SchemaOutOfDate

    logs.configure(config.log_format, config.log_level)

    def serve(reactor):
        gateway = Gateway(config, reactor)
        stopped = defer.Deferred()

        def failed(failure):
            failure.trap(SchemaOutOfDate)
            print(f"jifen: {failure.value}", file=sys.stderr)
            stopped.callback(1)

        reactor.addSystemEventTrigger("before", "shutdown", gateway.stopService)
        defer.maybeDeferred(gateway.startService).addErrback(failed)
        return stopped

    return _react(serve)


def _react(main) -> int:
    result = []

    def wrapped(reactor):
        return defer.maybeDeferred(main, reactor).addCallback(result.append)

    try:
        task.react(wrapped)
    except SystemExit as exit_:
        if exit_.code not in (0, None):
            return exit_.code
    return result[0] if result else 0


def _db(config, args):
    engine = make_engine(config.database_url)
    if args.action == "upgrade":
        migrate.upgrade(engine)
        print(f"database at schema {migrate.head()}")
    elif args.action == "current":
        with engine.connect() as conn:
            print(migrate.current(conn) or "empty (run `jifen db upgrade`)")
    else:
        differences = migrate.drift(engine)
        for difference in differences:
            print(difference)
        return 1 if differences else 0


def _members_add(config, args):
    from gateway.store.members import add_member
    from ledger_client import EmbeddedLedger

    number = msisdn.normalize(args.msisdn, config.phone_region)
    if number is None:
        print(f"jifen: {args.msisdn!r} is not a phone number in region {config.phone_region}",
              file=sys.stderr)
        return 1
    with migrated_engine(config).begin() as conn:
        add_member(conn, EmbeddedLedger(), msisdn=number, name=args.name,
                   now=datetime.now(timezone.utc), language=args.language, points=args.points)
    print(f"member {number} ({args.name}) registered")


def _members_list(config, args):
    from gateway.store.members import list_members
    from ledger_client import EmbeddedLedger

    with migrated_engine(config).begin() as conn:
        for row in list_members(conn, EmbeddedLedger()):
            print("{:<16} {:<24} {:<4} {:>10,}".format(*row))

