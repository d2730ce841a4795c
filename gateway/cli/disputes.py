"""`jifen redemptions dispute`: members' complaints about assisted redemptions (DISPUTE <ref>).

    jifen redemptions dispute list
    jifen redemptions dispute resolve REF uphold|reject [--by NAME]

Upholding reverses the redemption: the member's points back, every commission share clawed back
up the chain, the shop's settlement taken back, the stock back; rejecting leaves it approved.
Either way the member is told by SMS.  Registered under `jifen redemptions` by redemptions.py.
"""

from __future__ import annotations

import getpass
from datetime import datetime, timezone

from gateway.agency import aftersales
from gateway.app import build_agency
from gateway.cli.core import CommandError, migrated_engine
from gateway.commands.agent import dispute_decided
from gateway.redeem import notices
from ledger_client import EmbeddedLedger


def register(actions) -> None:
    parser = actions.add_parser("dispute", help="members' complaints about shop redemptions")
    steps = parser.add_subparsers(required=True, metavar="STEP")
    steps.add_parser("list", help="disputes waiting for a decision").set_defaults(handler=_list)
    resolve = steps.add_parser("resolve", help="uphold (reverse it) or reject a dispute")
    resolve.add_argument("reference")
    resolve.add_argument("decision", choices=("uphold", "reject"))
    resolve.add_argument("--by", default=None, help="who decides (default: you)")
    resolve.set_defaults(handler=_resolve)


def _list(config, args):
    with migrated_engine(config).connect() as conn:
        rows = aftersales.open_disputes(conn)
    for row in rows:
        print(f"{row.reference}  agent {row.agent_code}  {row.points:,} pts  "
              f"opened {row.opened_at:%Y-%m-%d %H:%M}")
    if not rows:
        print("no open disputes")


def _resolve(config, args):
    now = datetime.now(timezone.utc)
    agency = build_agency(config, EmbeddedLedger(now=lambda: now))
    upheld = args.decision == "uphold"
    with migrated_engine(config).begin() as conn:
        try:
            outcome = aftersales.resolve(agency, conn, args.reference, upheld,
                                         f"operator:{args.by or getpass.getuser()}", now)
        except LookupError as error:
            raise CommandError(str(error)) from None
        deal = getattr(outcome, "deal", outcome)
        if getattr(outcome, "queued", False):
            # The central ledger has yet to take the reversal: gateway/agency/queued.py tells
            # the member once it has, under the same key, and not at all if it is refused.
            print(f"{deal.reference}: reversal queued for the central ledger; "
                  "the member is told when it posts")
            return
        to, reply, key = dispute_decided(deal, upheld)
        notices.queue(conn, key, to=to, short_code=agency.short_code_of(conn, deal.reference),
                      text=reply.text, language=reply.language, now=now)
    print(f"{deal.reference} {'reversed' if upheld else 'stands'}; the member is told")
