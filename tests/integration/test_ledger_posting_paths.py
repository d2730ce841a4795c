"""The ways a posting reaches each database (ledger_client/statements.py), on SQLite and
PostgreSQL: one transfer (scalar parameters on PostgreSQL), a batch (JSON column arrays on
PostgreSQL, accounts locked in id order), the statements run on the driver's own cursor (its
errors still SQLAlchemy's, a lost connection invalidated, the caller's transaction kept), and
the fixed-name savepoint.  Every test ends with the audit (ledger_fixtures.books).
"""

from __future__ import annotations

import random

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from ledger_client import IdReused, InsufficientFunds, Transfer
from ledger_fixtures import Books, books, race  # noqa: F401  (books is a fixture)

# Characters that mean something in JSON, in an array literal or in SQL.
AWKWARD = ['q"uote', "back\\slash", "{brace}", "com,ma", "semi;colon", "per%(cent)s", "'tick'"]


def test_awkward_ids_and_references_round_trip_alone_and_in_a_batch(books: Books):
    jane = books.member("jane", 1000)
    books.post(Transfer(AWKWARD[0], jane, books.revenue, 1, "redeem", reference=AWKWARD[1]))
    books.post(*[Transfer(f"b:{word}", jane, books.revenue, 1, "redeem", reference=word)
                 for word in AWKWARD])
    with books.engine.connect() as conn:
        lines = books.ledger.history(conn, jane, limit=50)
    seen = {(m.transfer_id, m.reference) for m in lines}
    assert (AWKWARD[0], AWKWARD[1]) in seen
    assert {(f"b:{word}", word) for word in AWKWARD} <= seen
    # The same again is the first result, alone and in a batch; other content is refused.
    assert not books.post(Transfer(AWKWARD[0], jane, books.revenue, 1, "redeem",
                                   reference=AWKWARD[1]))[0].created
    with pytest.raises(IdReused):
        books.post(*[Transfer(f"b:{word}", jane, books.revenue, 2, "redeem", reference=word)
                     for word in AWKWARD])
    assert books.balance(jane).available == 1000 - 1 - len(AWKWARD)


def test_batches_over_the_same_accounts_in_any_order_queue_without_deadlock(books: Books):
    members = [books.member(f"m{n}", 1000) for n in range(6)]

    def post(i):
        # Each batch names every member, in its own order, and pays some back from the issuer.
        order = random.Random(i).sample(members, len(members))
        return books.post(*[Transfer(f"r{i}:{m}", m, books.revenue, 10, "redeem")
                            for m in order],
                          *[Transfer(f"g{i}:{m}", books.issuer, m, 3, "bonus") for m in order])

    outcomes = race(12, post)
    assert all(isinstance(o, list) and len(o) == 12 for o in outcomes), outcomes
    for member in members:
        assert books.balance(member).available == 1000 - 12 * 10 + 12 * 3
    assert books.balance(books.revenue).posted == 12 * 10 * len(members)


def test_a_batch_that_overdraws_one_of_many_accounts_changes_none(books: Books):
    members = [books.member(f"m{n}", 100) for n in range(5)]
    with pytest.raises(InsufficientFunds) as refused:
        books.post(*[Transfer(f"t{m}", m, books.revenue, 101 if m == members[3] else 50,
                              "redeem") for m in members])
    assert refused.value.account_id == members[3]
    assert [books.balance(m).available for m in members] == [100] * 5


def test_a_posting_that_opens_the_connections_transaction_commits_with_it(books: Books):
    jane = books.member("jane", 100)
    for savepoint in (False, True):
        with books.engine.connect() as conn:
            # The posting is the first statement: it begins the transaction the caller commits.
            books.ledger.post(conn, [Transfer(f"first{savepoint}", jane, books.revenue, 10,
                                              "redeem")], savepoint=savepoint)
            conn.commit()
    assert books.balance(jane).available == 80


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_lost_connection_is_sqlalchemys_error_and_is_invalidated(books: Books):
    jane = books.member("jane", 100)
    with books.engine.connect() as conn, books.engine.connect() as other:
        for savepoint in (False, True):
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
            conn.commit()
            other.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
            other.commit()
            with pytest.raises(DBAPIError) as lost:
                books.ledger.post(conn, [Transfer("t", jane, books.revenue, 1, "redeem")],
                                  savepoint=savepoint)
            assert lost.value.connection_invalidated
            conn.rollback()         # the next use connects again
    assert books.balance(jane).available == 100
