"""The SMS a member gets when something happens to a redemption after their message was
answered: a queued posting completed or was refused, or an operator reversed it.

Replies to the member's own message are the commands' business (gateway/commands/replies.py);
these are the ones no message is waiting for, so they are written straight to the outbox with
an idempotency key of their own (``rdm:<reference>:<event>``): queueing one twice is
impossible.  Templates are per language like replies.py's, and checked to fit one SMS.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from gateway.store.models import outbox

FALLBACK = "en"

TEMPLATES: dict[tuple[str, str], str] = {
    ("completed.voucher", "en"): "Jifen: {ref} done. {qty} x {item} for {points} pts. "
                                 "Voucher: {codes}",
    ("completed.airtime", "en"): "Jifen: {ref} done. {qty} x {item} for {points} pts; "
                                 "the top-up is on its way.",
    ("failed.insufficient_points", "en"): "Jifen: {ref} for {item} could not be completed: "
                                          "not enough points. Nothing was taken.",
    ("failed", "en"): "Jifen: {ref} for {item} could not be completed. Nothing was taken.",
    ("reversed", "en"): "Jifen: {ref} for {item} was reversed; {points} pts are back in "
                        "your account.",
    ("completed.voucher", "zh"): "积分：{ref}兑换成功，{qty}x{item}，{points}分。券码：{codes}",
    ("completed.airtime", "zh"): "积分：{ref}兑换成功，{qty}x{item}，{points}分，话费即将到账。",
    ("failed.insufficient_points", "zh"): "积分：{ref}（{item}）未能完成：积分不足，未扣分。",
    ("failed", "zh"): "积分：{ref}（{item}）未能完成，未扣分。",
    ("reversed", "zh"): "积分：{ref}（{item}）已撤销，{points}分已退回。",
}


def render(name: str, language: str, **values: object) -> tuple[str, str]:
    """(text, language) of template ``name``, in ``language`` if it has one, else English."""
    language = language if (name, language) in TEMPLATES else FALLBACK
    shown = {k: f"{v:,}" if isinstance(v, int) else str(v) for k, v in values.items()}
    return TEMPLATES[(name, language)].format_map(shown), language


def queue(conn: Connection, key: str, *, to: str, short_code: str, text: str, language: str,
          now: datetime) -> bool:
    """Put one MT in the outbox unless one with ``key`` is there already; True if it was new."""
    if conn.execute(select(outbox.c.id).where(outbox.c.idempotency_key == key)).first():
        return False
    conn.execute(insert(outbox).values(
        idempotency_key=key, inbox_id=None, source_addr=short_code, destination_addr=to,
        text=text, language=language, state="queued", attempts=0, created_at=now,
        next_attempt_at=now))
    return True
