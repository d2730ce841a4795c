"""USSD dialogues between two answers: one row per (channel, phone, vendor session id).

The menu state lives here, not in memory, because the next answer of a dialogue may reach
another gateway process sharing the database. A row is written in the same transaction as the
step it records (the answer taken, the action it ran, the screen to show), so a step is committed
before the network's PDU is acknowledged and before its screen is sent.

``state`` is the menu's `MenuState` JSON while the dialogue is open and NULL once it ended; an
ended row is kept until it expires so that a network retry of the last answer gets the same last
screen again instead of running its action twice. ``screen`` is the last screen shown (never a
PIN: the menus never echo one). ``result`` follows an action's final text until the phone has
seen it: "pending" when committed, "shown" once the network took it, "sms" once it was queued
as an SMS instead (the reply budget ran out, or the gateway stopped in between).
"""

from sqlalchemy import Boolean, Column, DateTime, Index, Integer, String, Table, Text

from gateway.store.models import metadata

ussd_sessions = Table(
    "ussd_sessions", metadata,
    Column("id", Integer, primary_key=True),
    Column("channel", String(40), nullable=False),        # the bind's name, or "http"
    Column("msisdn", String(20), nullable=False),         # E.164 digits
    Column("session_key", String(160), nullable=False),   # the vendor's session id
    Column("service", String(21), nullable=False),        # the code dialled / address reached
    Column("session", Text, nullable=False),              # the dialect's UssdSession, or HTTP's seen text
    Column("state", Text),                                # MenuState JSON; NULL once ended
    Column("step", Integer, nullable=False),
    Column("screen", Text, nullable=False),
    Column("ends", Boolean, nullable=False),              # the last screen closed the dialogue
    Column("language", String(8), nullable=False),
    Column("result", String(8)),                          # pending | shown | sms (action texts)
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_ussd_sessions_key", "channel", "msisdn", "session_key", unique=True),
    Index("ix_ussd_sessions_expires", "expires_at"),
)
