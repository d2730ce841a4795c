"""Assisted redemption through the postings queue (the central ledger), beneath SMPP, on SQLite and
PostgreSQL: what `AgencyPostings` does with each batch's answer, and that a crash at any point
leaves the queue to finish the work, posting nothing twice and telling no one twice.

The "central" ledger here is the fixture's embedded ledger, posted to in transactions of its own
as the `LedgerPoster` would over HTTP; the agency itself has no ledger (``ledger`` None).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from agent_fixtures import CONFIG, JANE, LI, SHOP, Agency
from gateway.agency import AgencySweeper, aftersales, postings
from gateway.agency.queued import AgencyPostings
from gateway.commands.agent_values import Answered, Refusal, Reversed, Started
from gateway.commands.grammar import KeywordTable
from gateway.redeem import postings as queue
from gateway.store.models import outbox
from gateway.store.tables_catalog import ledger_postings
from ledger_client import LedgerError
from ledger_client.schema import transfers as journal
from redeem_fixtures import gateway_engine  # noqa: F401  (fixture)

TABLE = KeywordTable.load(CONFIG / "keywords.toml")


class Central:
    """The agency in queue mode, and a poster that drains its queue by hand."""

    def __init__(self, engine):
        self.agency = Agency(engine)
        self.engine = engine
        self.ledger = self.agency.ledger
        self.agency.service.ledger = None                 # every batch goes through the queue
        self.owners = queue.Owners(AgencyPostings(self.agency.service, lambda: TABLE).owners())

    def drain(self, *, record: bool = True) -> list[queue.Posting]:
        """Send what is due; ``record`` False: crash after posting, before recording."""
        with self.engine.begin() as conn:
            due = queue.claim_due(conn, self.agency.now, limit=50, lease=timedelta(seconds=60))
        for posting in due:
            error = self.post(posting)
            if record:
                with self.engine.begin() as conn:
                    self.owners.settle(conn, posting, error, self.agency.now)
        return due

    def post(self, posting: queue.Posting) -> LedgerError | None:
        def account(kind, reference, ledger):
            return self.ledger.open_account(conn, kind, reference, ledger=ledger,
                                            no_overdraft=not queue.may_overdraw(kind))
        try:
            with self.engine.begin() as conn:
                self.ledger.post(conn, queue.resolve(posting, account))
        except LedgerError as refusal:
            return refusal
        return None

    def sent(self) -> dict[str, str]:
        with self.engine.connect() as conn:
            return dict(conn.execute(select(outbox.c.idempotency_key, outbox.c.text)).all())

    def code(self, reference: str) -> str:
        return re.search(r"YES (\d{4})", self.sent()[f"ardm:{reference}:prompt:0"]).group(1)

    def journal(self, code: str) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(journal).where(
                journal.c.code == code)).scalar_one()

    def postings(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return dict(conn.execute(select(ledger_postings.c.state, func.count())
                                     .group_by(ledger_postings.c.state)).all())


@pytest.fixture
def central(gateway_engine):  # noqa: F811
    return Central(gateway_engine)


def held(central: Central, **kwargs) -> str:
    """An RDM whose hold the centre accepted; its reference."""
    rdm = central.agency.rdm(**kwargs)
    assert isinstance(rdm, Started) and rdm.queued and rdm.code is None
    central.drain()
    return rdm.deal.reference


def test_rdm_queues_the_hold_and_the_prompt_goes_when_it_is_accepted(central):
    rdm = central.agency.rdm()
    assert central.agency.states() == ["holding"] and central.agency.stock("RICE5") == 18
    assert central.sent() == {} and central.agency.available() == 50_000
    central.drain()
    ref = rdm.deal.reference
    assert set(central.sent()) == {f"ardm:{ref}:prompt:0", f"ardm:{ref}:asked:a"}
    assert central.agency.states() == ["pending"] and central.agency.available() == 49_000
    assert central.code(ref) not in str(central.agency.redemption(ref))


def test_yes_queues_one_batch_and_both_receipts_go_when_it_posts(central):
    ref = held(central)
    answered = central.agency.answer(central.code(ref))
    assert answered == Answered(outcome="queued", deal=answered.deal)
    assert central.agency.states() == ["approving"]
    assert central.agency.answer(central.code(ref)) == Refusal("nothing_pending")
    central.drain()
    sent = central.sent()
    assert "Commission 20 pts." in sent[f"ardm:{ref}:approved:a"]
    assert f"Ref {ref}." in sent[f"ardm:{ref}:approved:m"]
    assert central.agency.states() == ["approved"] and central.postings() == {"posted": 2}
    figures = central.agency.call(aftersales.figures, SHOP, None)       # AGBAL, from the queue
    assert (figures.commission, figures.settlement) == (20, "10.00")


def test_a_crash_between_posting_and_recording_posts_once_and_tells_once(central):
    ref = held(central)
    central.agency.answer(central.code(ref))
    assert len(central.drain(record=False)) == 1         # posted; the process died
    assert central.drain() == []                         # leased: nobody else sends it yet
    central.agency.tick(seconds=61)                      # the lease runs out
    again = central.drain()                              # sent again, and recorded this time
    assert [p.purpose for p in again] == [postings.APPROVAL]
    assert central.journal("commission") == 3 and central.journal("settlement") == 1
    assert central.agency.states() == ["approved"]
    with central.engine.begin() as conn:                 # a second poster recording it too
        assert central.owners.settle(conn, again[0], None, central.agency.now) is None
    assert len(central.sent()) == 4                      # prompt, asked, two receipts


def test_a_crash_while_recording_leaves_the_posting_queued(central):
    ref = held(central)
    central.agency.answer(central.code(ref))
    with central.engine.connect() as conn:
        due = queue.claim_due(conn, central.agency.now, limit=5, lease=timedelta(seconds=60))
        conn.commit()
        central.post(due[0])
        central.owners.settle(conn, due[0], None, central.agency.now)
        conn.rollback()                                  # the process died before the commit
    assert central.postings() == {"posted": 1, "queued": 1}
    assert central.agency.states() == ["approving"]
    central.agency.tick(seconds=61)
    central.drain()
    assert central.agency.states() == ["approved"] and central.postings() == {"posted": 2}
    assert central.journal("commission") == 3


def test_not_enough_points_fails_the_hold_and_the_agent_is_told_without_the_balance(central):
    rdm = central.agency.rdm(member=LI, qty=6)           # 3,000 points; Li has 2,600
    central.drain()
    ref = rdm.deal.reference
    assert central.sent() == {f"ardm:{ref}:failed:a": "Jifen: not done. The member does not "
                                                       "have enough points."}
    assert central.agency.states() == ["failed"] and central.agency.stock("RICE5") == 20
    assert central.postings() == {"refused": 1}


def test_no_and_expiry_void_the_hold_through_the_queue(central):
    ref = held(central)
    assert central.agency.answer(central.code(ref), approve=False).outcome == "refused"
    assert central.agency.stock("RICE5") == 20 and central.agency.available() == 49_000
    central.drain()
    assert central.agency.available() == 50_000 and central.journal("void") == 1

    late = held(central)
    central.agency.tick(minutes=10)
    sweeper = AgencySweeper(central.agency.service, None, None, lambda: central.agency.now)
    with central.engine.begin() as conn:
        assert sweeper.expire(conn, central.agency.now) == 1
    central.drain()                                      # the void: the hold ran out first
    assert central.agency.states() == ["refused", "expired"]
    assert central.postings() == {"posted": 3, "refused": 1}
    with central.engine.begin() as conn:                 # the centre sweeps its own holds
        central.ledger.expire_holds(conn)
    assert central.agency.available() == 50_000
    assert {f"ardm:{late}:expired:m", f"ardm:{late}:expired:a"} <= set(central.sent())


def test_a_hold_accepted_after_its_time_is_voided_and_the_member_never_asked(central):
    rdm = central.agency.rdm()
    central.agency.tick(minutes=11)                      # the ledger was away all that time
    central.drain()                                      # the hold: accepted, too late
    ref = rdm.deal.reference
    assert central.agency.states() == ["expired"] and central.agency.stock("RICE5") == 20
    assert set(central.sent()) == {f"ardm:{ref}:expired:a"}
    central.drain()                                      # the void
    assert central.agency.available() == 50_000


def test_an_approval_refused_by_the_centre_expires_and_both_are_told(central):
    ref = held(central)
    central.agency.answer(central.code(ref))
    central.agency.tick(minutes=11)
    with central.engine.begin() as conn:                 # the centre's own sweep came first
        central.ledger.expire_holds(conn)
    central.drain()
    assert central.agency.states() == ["expired"] and central.agency.stock("RICE5") == 20
    assert {f"ardm:{ref}:expired:m", f"ardm:{ref}:expired:a"} <= set(central.sent())
    assert central.agency.available() == 50_000 and central.journal("commission") == 0


def test_rev_and_a_dispute_upheld_reverse_through_the_queue(central):
    ref = held(central)
    central.agency.answer(central.code(ref))
    central.drain()
    done = central.agency.call(aftersales.reverse_by_agent, SHOP, ref)
    assert isinstance(done, Reversed) and done.queued
    assert central.agency.states() == ["reversing"] and central.agency.stock("RICE5") == 18
    assert central.agency.call(aftersales.reverse_by_agent, SHOP, ref).code == "already_reversed"
    central.drain()
    assert central.agency.states() == ["reversed"] and central.agency.stock("RICE5") == 20
    assert central.agency.available() == 50_000
    assert {f"ardm:{ref}:reversed:m", f"ardm:{ref}:reversed:a"} <= set(central.sent())

    other = held(central)
    central.agency.answer(central.code(other))
    central.drain()
    central.agency.call(aftersales.dispute, JANE, other)
    central.agency.call(aftersales.resolve, other, True, "ops:alice")
    central.drain()
    assert central.agency.states() == ["reversed", "reversed"]
    sent = central.sent()
    assert f"ardm:{other}:dispute:m" in sent and f"ardm:{other}:reversed:a" not in sent
    assert central.agency.available() == 50_000


def test_owners_route_by_purpose_and_refuse_an_unknown_one():
    told = []
    owners = queue.Owners({"a": queue.Owner(lambda *args: told.append("settled a"),
                                            lambda *args: told.append("late a")),
                           "b": queue.Owner(lambda *args: told.append("settled b"))})
    posting = queue.Posting(1, "k", "a", None, (), 1)
    owners.settle(None, posting, None, None)
    owners.delayed(None, posting, None)
    owners.delayed(None, queue.Posting(2, "k2", "b", None, (), 1), None)   # b has no delay hook
    assert told == ["settled a", "late a"]
    with pytest.raises(LookupError):
        owners.settle(None, queue.Posting(3, "k3", "nobody", None, (), 1), None, None)
