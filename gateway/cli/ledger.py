"""`jifen ledger`: the central ledger service, and an audit of any ledger database.

    jifen ledger serve [--listen tcp:8088:interface=127.0.0.1] [--database URL]
    jifen ledger audit [--database URL]

`serve` exposes the embedded ledger of ``--database`` (default: the gateway's own database)
as the JSON HTTP service of docs/ledger-api.md, and sweeps its expired holds.  Gateways point
``[ledger] url`` at it with ``kind = "http"``; any number of them may share one service.  The
database must be migrated (`jifen db upgrade` builds the ledger's tables with the rest).

`audit` recomputes every account from the journal and prints what does not add up (exit 1),
or nothing (exit 0).
"""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import datetime, timezone

from twisted.internet import defer, endpoints

from gateway import logs
from gateway.cli.core import CommandError, _react, migrated_engine
from gateway.store.db import Database
from ledger_client import EmbeddedLedger, HoldSweeper, audit, ledger_site


def register(commands) -> None:
    parser = commands.add_parser("ledger", help="the central ledger service")
    actions = parser.add_subparsers(required=True, metavar="ACTION")
    serve = actions.add_parser("serve", help="serve the ledger over HTTP (docs/ledger-api.md)")
    serve.add_argument("--listen", default="tcp:8088:interface=127.0.0.1",
                       help="a Twisted endpoint (default: tcp:8088:interface=127.0.0.1)")
    serve.add_argument("--database", help="the ledger's database URL (default: the gateway's)")
    serve.set_defaults(handler=_serve)
    check = actions.add_parser("audit", help="check every balance against the journal")
    check.add_argument("--database", help="the ledger's database URL (default: the gateway's)")
    check.set_defaults(handler=_audit)


def _engine(config, args):
    return migrated_engine(replace(config, database_url=args.database) if args.database
                           else config)


def _serve(config, args):
    logs.configure(config.log_format, config.log_level)
    engine = _engine(config, args)

    def serve(reactor):
        db = Database(engine, reactor)
        db.start()
        ledger = EmbeddedLedger(now=lambda: datetime.fromtimestamp(reactor.seconds(),
                                                                   timezone.utc))
        sweeper = HoldSweeper(ledger, db.run, reactor,
                              interval=config.ledger.hold_sweep_interval)
        try:
            endpoint = endpoints.serverFromString(reactor, args.listen)
        except (ValueError, KeyError) as error:
            raise CommandError(f"--listen {args.listen!r}: {error}") from None
        listening = endpoint.listen(ledger_site(ledger, db.run))

        def started(port):
            sweeper.startService()
            reactor.addSystemEventTrigger("before", "shutdown", sweeper.stopService)
            print(f"ledger service listening on {port.getHost()}", flush=True)
            return defer.Deferred()          # until the process is stopped

        def failed(failure):
            print(f"jifen: cannot listen on {args.listen}: {failure.getErrorMessage()}",
                  file=sys.stderr)
            return 1

        return listening.addCallbacks(started, failed)

    return _react(serve)


def _audit(config, args):
    with _engine(config, args).connect() as conn:
        found = audit.problems(conn)
    for line in found:
        print(line)
    if not found:
        print("ledger sound: every ledger balances and every account matches its journal")
    return 1 if found else 0
