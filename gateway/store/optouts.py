"""Promotional opt-outs per phone number: STOP and START, members and strangers alike.

Only promotions are held back. Anything that sends them (a campaign, a reminder) asks
`is_opted_out` for each phone first; replies to a phone's own messages never do.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from gateway.store.tables_keywords import opt_outs


def set_opt_out(conn, msisdn: str, opted_out: bool, now: datetime) -> None:
    """Record STOP (True) or START (False); saying it twice changes only the timestamp."""
    stamp = {"opted_out_at" if opted_out else "opted_in_at": now}
    change = update(opt_outs).where(opt_outs.c.msisdn == msisdn).values(opted_out=opted_out, **stamp)
    if conn.execute(change).rowcount:
        return
    try:
        with conn.begin_nested():
            conn.execute(insert(opt_outs).values(msisdn=msisdn, opted_out=opted_out, **stamp))
    except IntegrityError:
        # Another gateway process recorded this phone's first STOP a moment ago.
        conn.execute(change)


def is_opted_out(conn, msisdn: str) -> bool:
    return bool(conn.execute(select(opt_outs.c.opted_out)
                             .where(opt_outs.c.msisdn == msisdn)).scalar())
