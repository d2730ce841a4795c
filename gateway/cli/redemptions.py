"""`jifen redemptions`: look up, reverse and verify members' redemptions.

    jifen redemptions show REF
    jifen redemptions reverse REF --reason "wrong item" [--by NAME]
    jifen redemptions voucher CODE          is this voucher code real, and for what?

A reversal posts a compensating transfer (points back to the member), returns the stock and
queues an SMS telling the member; it is recorded with the reason and who did it.  Reversing
again does nothing.  With the central ledger the reversal is queued and a running gateway
posts it (state "reversing" until then).
"""

from __future__ import annotations

import getpass
from datetime import datetime, timezone

from sqlalchemy import select

from gateway import catalog
from gateway.app import build_redemptions
from gateway.cli import disputes
from gateway.cli.core import CommandError, migrated_engine
from gateway.redeem import codes
from gateway.store.tables_catalog import redemptions, vouchers
from ledger_client import EmbeddedLedger, LedgerError


def register(commands) -> None:
    parser = commands.add_parser("redemptions", help="members' redemptions")
    actions = parser.add_subparsers(required=True, metavar="ACTION")
    show = actions.add_parser("show", help="one redemption")
    show.add_argument("reference")
    show.set_defaults(handler=_show)
    reverse = actions.add_parser("reverse", help="give the points and the stock back")
    reverse.add_argument("reference")
    reverse.add_argument("--reason", required=True)
    reverse.add_argument("--by", default=None, help="who reverses it (default: you)")
    reverse.set_defaults(handler=_reverse)
    voucher = actions.add_parser("voucher", help="verify a voucher code")
    voucher.add_argument("code")
    voucher.set_defaults(handler=_voucher)
    disputes.register(actions)      # `redemptions dispute list|resolve`: gateway/cli/disputes.py


def _show(config, args):
    with migrated_engine(config).connect() as conn:
        row = conn.execute(select(redemptions).where(
            redemptions.c.reference == args.reference.strip().upper())).first()
        if row is None:
            raise CommandError(f"no redemption {args.reference}")
        item = catalog.find(conn, "", by_id=row.item_id)
    print(f"{row.reference}  {row.state}  {row.quantity} x {item.code} ({item.name('en')})  "
          f"{row.points:,} pts  member {row.msisdn}  at {row.created_at:%Y-%m-%d %H:%M}")
    if row.refusal:
        print(f"  refused by the ledger: {row.refusal}")
    if row.reversed_by:
        print(f"  reversed by {row.reversed_by}: {row.reversal_reason}")


def _reverse(config, args):
    reason = args.reason.strip()
    if not reason:
        raise CommandError("--reason must say why")
    now = datetime.now(timezone.utc)
    service = build_redemptions(config, EmbeddedLedger(now=lambda: now))
    try:
        with migrated_engine(config).begin() as conn:
            state = service.reverse(conn, args.reference, reason=reason,
                                    by=args.by or getpass.getuser(), now=now)
    except (LookupError, ValueError, LedgerError) as error:
        raise CommandError(str(error)) from None
    print(f"{args.reference.strip().upper()}: {state}")


def _voucher(config, args):
    with migrated_engine(config).connect() as conn:
        found = conn.execute(select(redemptions.c.reference, redemptions.c.state)
                             .join(vouchers, vouchers.c.redemption_id == redemptions.c.id)
                             .where(vouchers.c.digest == codes.digest(args.code))).first()
    if found is None:
        print("not a voucher code we issued")
        return 1
    print(f"valid: redemption {found.reference} ({found.state})")
