"""The embedded ledger on SQLite and PostgreSQL: idempotency, no overdraft, holds, batches.

Every test ends with the audit (ledger_fixtures.books): each ledger's debits equal its credits
and every account's totals equal what the journal says.
"""

from __future__ import annotations

import pytest
from sqlalchemy import update

from ledger_client import (
    AccountClosed, AccountKind, HoldNotPending, HoldState, IdReused, InsufficientFunds,
    InvalidTransfer, LedgerMismatch, Transfer, TransferKind, UnknownAccount, UnknownHold, audit,
)
from ledger_client.schema import accounts
from ledger_fixtures import Books, books, race  # noqa: F401  (books is a fixture)


def test_a_transfer_moves_points_and_is_posted_once(books: Books):
    member = books.member("jane", 1000)
    first = books.post(Transfer("t1", member, books.revenue, 300, "redeem"))[0]
    books.clock.advance(60)
    again = books.post(Transfer("t1", member, books.revenue, 300, "redeem"))[0]
    assert first.created and not again.created
    assert again.transfer == first.transfer
    assert again.timestamp == first.timestamp          # the first result, not a new one
    assert books.balance(member).available == 700
    assert books.balance(books.revenue).posted == 300


def test_a_batch_resent_with_more_in_it_posts_only_the_new_ones(books: Books):
    member = books.member("jane", 1000)
    books.post(Transfer("t1", member, books.revenue, 100, "redeem"))
    results = books.post(Transfer("t1", member, books.revenue, 100, "redeem"),
                         Transfer("t2", member, books.revenue, 200, "redeem"))
    assert [r.created for r in results] == [False, True]
    assert books.balance(member).available == 700


def test_the_same_id_with_other_content_is_refused(books: Books):
    member = books.member("jane", 1000)
    books.post(Transfer("t1", member, books.revenue, 300, "redeem"))
    with pytest.raises(IdReused):
        books.post(Transfer("t1", member, books.revenue, 301, "redeem"))
    assert books.balance(member).available == 700


def test_a_debit_that_does_not_fit_changes_nothing(books: Books):
    member = books.member("jane", 100)
    size = books.journal_size()
    with pytest.raises(InsufficientFunds) as refused:
        books.post(Transfer("t1", member, books.revenue, 101, "redeem"))
    assert (refused.value.account_id, refused.value.transfer_id) == (member, "t1")
    assert books.balance(member).available == 100
    assert books.journal_size() == size


def test_the_issuer_may_go_below_zero(books: Books):
    books.member("jane", 500)
    assert books.balance(books.issuer).posted == -500


def test_unknown_closed_and_other_ledger_accounts_are_refused(books: Books):
    member = books.member("jane", 100)
    with pytest.raises(UnknownAccount):
        books.post(Transfer("t1", member, 9999, 1, "redeem"))
    with books.engine.begin() as conn:
        shop = books.ledger.open_account(conn, AccountKind.SHOP_SETTLEMENT, "A1023",
                                         ledger="KES")
        closed = books.ledger.open_account(conn, AccountKind.MEMBER, "gone")
        books.ledger.close_account(conn, closed)
    with pytest.raises(LedgerMismatch):
        books.post(Transfer("t2", member, shop, 1, "redeem"))
    with pytest.raises(AccountClosed):
        books.post(Transfer("t3", member, closed, 1, "gift"))
    assert books.balance(member).available == 100


def test_a_failed_batch_leaves_nothing_behind(books: Books):
    jane, li = books.member("jane", 100), books.member("li", 50)
    size = books.journal_size()
    with pytest.raises(InsufficientFunds) as refused:
        books.post(Transfer("a", jane, books.revenue, 80, "redeem"),
                   Transfer.hold("b", jane, books.revenue, 10, "redeem", timeout=60),
                   Transfer("c", li, books.revenue, 60, "redeem"))
    assert refused.value.transfer_id == "c"
    assert books.journal_size() == size
    assert books.balance(jane).available == 100 and books.balance(jane).on_hold == 0
    assert books.balance(li).available == 50
    # The ids were not used up: the good part posts on its own.
    assert books.post(Transfer("a", jane, books.revenue, 80, "redeem"))[0].created


def test_a_failed_batch_inside_the_callers_transaction_keeps_the_callers_work(books: Books):
    jane = books.member("jane", 100)
    with books.engine.begin() as conn:
        books.ledger.post(conn, [Transfer("ok", jane, books.revenue, 10, "redeem")])
        with pytest.raises(InsufficientFunds):
            books.ledger.post(conn, [Transfer("no", jane, books.revenue, 500, "redeem")])
    assert books.balance(jane).available == 90


def test_a_batch_is_checked_in_order(books: Books):
    jane = books.member("jane")
    books.post(Transfer("in", books.issuer, jane, 50, "issue"),
               Transfer("out", jane, books.revenue, 50, "redeem"))
    assert books.balance(jane).available == 0
    with pytest.raises(InsufficientFunds):
        books.post(Transfer("out2", jane, books.revenue, 50, "redeem"),
                   Transfer("in2", books.issuer, jane, 50, "issue"))


def test_a_hold_is_posted_once(books: Books):
    jane = books.member("jane", 1000)
    books.post(Transfer.hold("h", jane, books.revenue, 400, "redeem", timeout=600))
    held = books.balance(jane)
    assert (held.available, held.on_hold, held.posted) == (600, 400, 1000)
    assert books.balance(books.revenue).incoming == 400
    [posted] = books.post(Transfer.post_hold("p", "h"))
    assert (posted.transfer.amount, posted.transfer.debit_account_id) == (400, jane)
    after = books.balance(jane)
    assert (after.available, after.on_hold, after.posted) == (600, 0, 600)
    assert not books.post(Transfer.post_hold("p", "h"))[0].created    # a retry: same result
    with pytest.raises(HoldNotPending) as refused:
        books.post(Transfer.void_hold("v", "h"))
    assert refused.value.state == "posted"


def test_a_voided_hold_gives_the_points_back(books: Books):
    jane = books.member("jane", 1000)
    books.post(Transfer.hold("h", jane, books.revenue, 400, "redeem", timeout=600))
    books.post(Transfer.void_hold("v", "h"))
    assert books.balance(jane).available == 1000
    with pytest.raises(HoldNotPending):
        books.post(Transfer.post_hold("p", "h"))
    with pytest.raises(UnknownHold):
        books.post(Transfer.post_hold("p2", "nothing-like-it"))


def test_a_hold_voids_itself_at_its_timeout(books: Books):
    jane = books.member("jane", 1000)
    books.post(Transfer.hold("h", jane, books.revenue, 400, "redeem", timeout=600))
    books.clock.advance(599)
    with books.engine.begin() as conn:
        assert books.ledger.expire_holds(conn) == []
    books.clock.advance(1)
    with books.engine.begin() as conn:
        assert books.ledger.expire_holds(conn) == ["h"]
        assert books.ledger.expire_holds(conn) == []         # once
    assert books.balance(jane).available == 1000
    with pytest.raises(HoldNotPending) as refused:
        books.post(Transfer.post_hold("p", "h"))
    assert refused.value.state == "expired"


def test_a_hold_past_its_time_cannot_be_posted_before_the_sweep(books: Books):
    jane = books.member("jane", 1000)
    books.post(Transfer.hold("h", jane, books.revenue, 400, "redeem", timeout=60))
    books.clock.advance(61)
    with pytest.raises(HoldNotPending) as refused:
        books.post(Transfer.post_hold("p", "h"))
    assert refused.value.state == "expired"
    assert books.balance(jane).on_hold == 400           # until the sweep releases it
    with books.engine.begin() as conn:
        books.ledger.expire_holds(conn)
    assert books.balance(jane).available == 1000


def test_a_hold_and_its_post_in_one_batch(books: Books):
    jane = books.member("jane", 1000)
    books.post(Transfer.hold("h", jane, books.revenue, 400, "redeem", timeout=60),
               Transfer.post_hold("p", "h"))
    assert books.balance(jane).available == 600
    assert books.balance(jane).on_hold == 0


def test_history_is_newest_first_and_seen_from_the_account(books: Books):
    jane = books.member("jane", 1000)
    books.clock.advance(1)
    books.post(Transfer("r1", jane, books.revenue, 100, "redeem", reference="R8K2P"))
    books.clock.advance(1)
    books.post(Transfer.hold("h", jane, books.revenue, 50, "redeem", timeout=60))
    books.clock.advance(1)
    books.post(Transfer("g1", books.issuer, jane, 20, "bonus"))
    with books.engine.connect() as conn:
        lines = books.ledger.history(conn, jane, limit=3)
        everything = books.ledger.history(conn, jane, limit=50)
    assert [(m.transfer_id, m.amount) for m in lines] == [("g1", 20), ("h", -50), ("r1", -100)]
    assert lines[1].kind is TransferKind.PENDING and lines[1].hold_state is HoldState.PENDING
    assert lines[2].reference == "R8K2P" and lines[2].other_account_id == books.revenue
    assert len(everything) == 4 and everything[-1].transfer_id == "open:jane"


def test_invalid_transfers_are_refused_before_anything_is_written(books: Books):
    jane = books.member("jane", 100)
    with pytest.raises(InvalidTransfer):
        books.post(Transfer("x", jane, books.revenue, 0, "redeem"))
    with pytest.raises(InvalidTransfer):
        books.post(Transfer("dup", jane, books.revenue, 1, "redeem"),
                   Transfer("dup", jane, books.revenue, 1, "redeem"))
    assert books.balance(jane).available == 100


def test_the_audit_notices_a_total_that_the_journal_does_not_explain(books: Books):
    jane = books.member("jane", 100)
    with books.engine.begin() as conn:
        conn.execute(update(accounts).where(accounts.c.id == jane)
                     .values(credits_posted=accounts.c.credits_posted + 5))
        found = audit.problems(conn)
        conn.rollback()
    assert any("posted debits" in line for line in found)
    assert any(f"account {jane}: credits_posted" in line for line in found)


# --- concurrency: threads with their own connections ----------------------------------------

def test_fifty_concurrent_debits_never_overdraw(books: Books):
    jane = books.member("jane", 1000)

    def debit(i):
        return books.post(Transfer(f"d{i}", jane, books.revenue, 30, "redeem"))

    outcomes = race(50, debit)
    posted = [o for o in outcomes if isinstance(o, list)]
    refused = [o for o in outcomes if isinstance(o, InsufficientFunds)]
    assert (len(posted), len(refused)) == (33, 17), outcomes
    assert books.balance(jane).available == 1000 - 33 * 30


def test_the_same_transfer_posted_concurrently_posts_once(books: Books):
    jane = books.member("jane", 1000)
    outcomes = race(20, lambda i: books.post(
        Transfer("once", jane, books.revenue, 100, "redeem"))[0])
    assert all(not isinstance(o, Exception) for o in outcomes), outcomes
    assert sum(o.created for o in outcomes) == 1
    assert books.balance(jane).available == 900


def test_a_post_racing_a_void_wins_once(books: Books):
    jane = books.member("jane", 1000)
    books.post(Transfer.hold("h", jane, books.revenue, 400, "redeem", timeout=600))
    outcomes = race(10, lambda i: books.post(
        Transfer.post_hold(f"p{i}", "h") if i % 2 else Transfer.void_hold(f"v{i}", "h")))
    assert sum(isinstance(o, list) for o in outcomes) == 1, outcomes
    assert all(isinstance(o, (list, HoldNotPending)) for o in outcomes)
    assert books.balance(jane).on_hold == 0
