"""`AgencyService`: assisted redemption (RDM, then the member's YES or NO) inside the MO's transaction.

Start at `start` and `answer`.  Each runs in the transaction of the message that asked, so the
redemption row, the stock it took, the ledger batch and the replies commit together or not at all;
the same inbox key again returns the first result and changes nothing.  With the embedded ledger
(``ledger`` given) each batch posts in that transaction; with the central ledger (``ledger`` None)
it is queued in ``ledger_postings`` with the state change that decided it (HOLDING, APPROVING,
REVERSING), and queued.py finishes the work when the `LedgerPoster` has the ledger's answer.

- `start`: the agent (by its phone), the member, the item (goods), the plan's category, the agent's
  PIN and the risk limits (agents.risk.check, counters read here by queries); then, in a savepoint,
  the stock (a conditional UPDATE: two agents racing for the last unit get one each ... one) and the
  hold on the member's points, expiring after `hold_timeout`.  The member's 4-digit code is
  returned once, for the prompt, and stored only as a digest.
- `answer`: YES or NO from the member's own phone (a code from any other phone finds nothing and
  counts against nobody).  Approval is one ledger batch (postings.py) and records how it was
  priced; a wrong code counts, and `code_attempts` of them cancel.
- `expire_due`: the sweep (sweeper.py) ends what was not answered in time and tells both sides.
After-sales (AGBAL, SALES, REV, DISPUTE and the operator's decision) are in aftersales.py.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

import phonenumbers
import structlog
from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

import agents as rules
from gateway import catalog, local_days
from gateway.agency import network, postings
from gateway.commands.agent_values import Answered, Deal, Refusal, Started
from gateway.redeem import codes
from gateway.redeem import postings as queue
from gateway.store.models import members
from gateway.store.tables_agents import agent_rdm_attempts, agent_redemptions, agents as agents_table
from ledger_client import EmbeddedLedger, InsufficientFunds, LedgerError, as_utc

log = structlog.get_logger(__name__)

PENDING, APPROVED, REFUSED, CANCELLED, EXPIRED = "pending", "approved", "refused", "cancelled", "expired"
DISPUTED, REVERSED = "disputed", "reversed"
# Only with the central ledger: a batch queued, waiting for its answer (queued.py).
HOLDING, APPROVING, REVERSING, FAILED = "holding", "approving", "reversing", "failed"
STANDING = (APPROVED, DISPUTED)                    # paid, and counted in reports and figures
POSTED = (*STANDING, REVERSING)                    # approval posted, no reversal posted yet
PRICED = (*POSTED, APPROVING)                      # counted when pricing the next approval
COUNTED_TODAY = (PENDING, HOLDING, *PRICED)        # count against the daily risk caps


@dataclass(frozen=True, kw_only=True)
class AgencySettings:
    limits: rules.RiskLimits
    plans: rules.PlanBook
    hold_timeout: int = 600
    code_attempts: int = 3
    reversal_window: timedelta = timedelta(minutes=30)
    dispute_window: timedelta = timedelta(hours=24)
    currency: str = "KES"
    settlement_per_point: int = 1
    namespace: str = "jifen"
    zone: tzinfo = local_days.UTC     # [gateway] timezone: where the caps' days and months begin


class _Refuse(Exception):
    def __init__(self, refusal: Refusal):
        self.refusal = refusal


class AgencyService:
    # Set by ussd_wiring when a bind pushes USSD: called as push_approval(deal, code) on the
    # transaction's thread when a member is asked to approve; it sends nothing before the commit.
    push_approval = None

    def __init__(self, settings: AgencySettings, ledger: EmbeddedLedger | None, *, hasher=None,
                 rng: secrets.SystemRandom | None = None):
        from gateway.redeem.pins import default_hasher
        self.settings = settings
        self.ledger = ledger            # None: the central ledger, through the postings queue
        self.hasher = hasher or default_hasher()
        self.rng = rng or secrets.SystemRandom()   # the demo seeds it, for a script that can answer YES

    # --- RDM ------------------------------------------------------------------------------------

    def start(self, conn: Connection, *, agent_msisdn: str, member_msisdn: str, item: str,
              quantity: int | None, pin: str | None, key: str, short_code: str, language: str,
              now: datetime) -> Started | Refusal:
        earlier = conn.execute(select(agent_redemptions).where(
            agent_redemptions.c.idempotency_key == key)).first()
        if earlier is not None:
            return Started(deal=self.deal(conn, earlier), member_shown=self.shown(conn, earlier),
                           code=None, queued=earlier.state == HOLDING)
        row = network.agent_row_by_msisdn(conn, agent_msisdn)
        if row is None:
            return Refusal("not_agent")
        try:
            return self._start(conn, row, member_msisdn, item, quantity or 1, pin, key,
                               short_code, language, now)
        except _Refuse as refused:
            self._attempt(conn, row.code, refused.refusal.code, now)
            log.info("agents.rdm_refused", agent=row.code, reason=refused.refusal.code)
            return refused.refusal

    def _start(self, conn, agent_row, member_msisdn, item_code, quantity, pin, key, short_code,
               language, now) -> Started:
        member = conn.execute(select(members).where(and_(
            members.c.msisdn == member_msisdn, members.c.status == "active"))).first()
        if member is None:
            raise _Refuse(Refusal("unknown_member"))
        item = catalog.find(conn, item_code)
        self._check_item(item, now)
        points = item.price * quantity
        agent = network.load_network(conn)[agent_row.code]
        self._check_risk(conn, agent_row, agent, member, points, pin, now)
        try:
            with conn.begin_nested():
                started = self._hold(conn, agent_row, member, item, quantity, points, key,
                                     short_code, language, now)
        except IntegrityError:      # the same key, committed by another process first
            return self.start(conn, agent_msisdn=agent_row.msisdn, member_msisdn=member_msisdn,
                              item=item_code, quantity=quantity, pin=pin, key=key,
                              short_code=short_code, language=language, now=now)
        self._attempt(conn, agent_row.code, "held", now)
        log.info("agents.rdm_holding" if started.queued else "agents.rdm_held",
                 agent=agent_row.code, reference=started.deal.reference, points=points)
        if self.push_approval is not None and started.code is not None:
            self.push_approval(started.deal, started.code)      # gateway/ussd_push.py
        return started

    def _check_item(self, item: catalog.Item | None, now: datetime) -> None:
        if item is None:
            raise _Refuse(Refusal("unknown_item"))
        if item.kind != "goods":
            raise _Refuse(Refusal("not_goods", {"item": item.code}))
        if not item.on_sale(now):
            raise _Refuse(Refusal("not_on_sale"))
        try:
            self.settings.plans.in_force(local_days.local_date(now, self.settings.zone)).rate(
                item.category)
        except (rules.UnknownCategory, rules.UnknownPlan):
            log.error("agents.no_commission_plan", item=item.code, category=item.category)
            raise _Refuse(Refusal("no_plan")) from None

    def _check_risk(self, conn, agent_row, agent: rules.Agent, member, points: int,
                    pin: str | None, now: datetime) -> None:
        pin_state = rules.PinState(agent_row.pin_failures, as_utc(agent_row.pin_locked_until))
        pin_ok = None
        if agent.pin_hash is not None and not pin_state.locked(now):
            if pin is None:
                raise _Refuse(Refusal("pin_required"))
            pin_ok = self.pin_matches(agent.pin_hash, pin)
        counters = self._counters(conn, agent.code, member.id, pin_state, now)
        verdict = rules.check(self.settings.limits, counters, rules.RedemptionRequest(
            agent=agent, member_msisdn=member.msisdn, points=points, pin_ok=pin_ok), now)
        if pin_ok is not None:
            moved = (rules.pin_succeeded(pin_state) if pin_ok
                     else rules.pin_failed(pin_state, self.settings.limits, now))
            conn.execute(update(agents_table).where(agents_table.c.code == agent.code).values(
                pin_failures=moved.failures, pin_locked_until=moved.locked_until))
        if isinstance(verdict, rules.Refused):
            log.info("agents.risk_refused", agent=agent.code, reason=verdict.reason.value,
                     detail=verdict.detail)
            wait = verdict.retry_after
            raise _Refuse(Refusal(verdict.reason.value, {"minutes": _minutes(wait)} if wait else {}))

    def pin_matches(self, stored: str, pin: str) -> bool:
        try:
            return self.hasher.verify(stored, pin)
        except Exception:               # argon2's mismatch and malformed-hash errors alike
            return False

    def _counters(self, conn, code: str, member_id: int, pin: rules.PinState,
                  now: datetime) -> rules.Counters:
        day = local_days.day_start(now, self.settings.zone)
        r = agent_redemptions.c
        today = and_(r.created_at >= day, r.state.in_(COUNTED_TODAY))
        agent_count, agent_points = conn.execute(select(
            func.count(), func.coalesce(func.sum(r.points), 0)).where(
            today, r.agent_code == code)).one()
        member_points = conn.execute(select(func.coalesce(func.sum(r.points), 0)).where(
            today, r.member_id == member_id)).scalar_one()
        a = agent_rdm_attempts.c
        recent = conn.execute(select(a.at).where(
            a.agent_code == code, a.at > now - self.settings.limits.velocity_window)).scalars()
        # int(): PostgreSQL sums BIGINTs as NUMERIC; pricing and the caps want whole numbers.
        return rules.Counters(agent_today_count=agent_count, agent_today_points=int(agent_points),
                              member_today_points=int(member_points),
                              agent_recent_rdms=tuple(as_utc(t) for t in recent), pin=pin)

    def _hold(self, conn, agent_row, member, item, quantity, points, key, short_code, language,
              now) -> Started:
        # One member's holds queue behind each other, so two RDMs cannot both pass a cap.
        conn.execute(select(members.c.id).where(members.c.id == member.id).with_for_update())
        if not catalog.take_stock(conn, item.id, quantity):
            raise _Refuse(Refusal("sold_out"))
        reference = self._new_reference(conn)
        queued = self.ledger is None
        # Queued: the code is drawn when the ledger has accepted the hold (queued.py).
        code = None if queued else self.draw_code()
        conn.execute(insert(agent_redemptions).values(
            reference=reference, idempotency_key=key, agent_code=agent_row.code,
            member_id=member.id, member_msisdn=member.msisdn, item_id=item.id,
            category=item.category, quantity=quantity, points=points,
            settlement=points * self.settings.settlement_per_point,
            hold_id=postings.transfer_id(self.settings.namespace, reference, "hold"),
            code_digest=digest(reference, code) if code else "", code_attempts=0,
            state=HOLDING if queued else PENDING,
            short_code=short_code, agent_language=language,
            member_language=member.language or language, created_at=now,
            expires_at=now + timedelta(seconds=self.settings.hold_timeout)))
        try:
            self.post(conn, reference, postings.HOLD, [postings.hold(
                self.settings.namespace, reference, member.msisdn, points,
                self.settings.hold_timeout)], now)
        except InsufficientFunds:
            raise _Refuse(Refusal("insufficient_points")) from None
        except LedgerError as error:
            log.warning("agents.hold_refused", reference=reference, error=error.code)
            raise _Refuse(Refusal("ledger_refused")) from None
        row = self.by_reference(conn, reference)
        return Started(deal=self.deal(conn, row), member_shown=self.shown(conn, row), code=code,
                       queued=queued)

    def draw_code(self) -> str:
        return f"{self.rng.randrange(10_000):04d}"

    def post(self, conn: Connection, reference: str, purpose: str, batch: list,
             now: datetime) -> bool:
        """Post ``batch`` now (the embedded ledger; a refusal raises) or queue it for the central
        ledger under the key ``ardm:<reference>:<purpose>``; True if queued."""
        if self.ledger is not None:
            queue.post_now(self.ledger, conn, batch)
            return False
        queue.enqueue(conn, key=f"ardm:{reference}:{purpose}", purpose=purpose,
                      redemption_id=None, transfers=batch, now=now)
        return True

    def _new_reference(self, conn) -> str:
        while True:
            reference = codes.new_reference(conn)     # unique among self-redemptions
            if self.by_reference(conn, reference) is None:
                return reference

    def _attempt(self, conn, code: str, outcome: str, now: datetime) -> None:
        conn.execute(insert(agent_rdm_attempts).values(agent_code=code, at=now, outcome=outcome))

    # --- YES / NO ---------------------------------------------------------------------------------

    def answer(self, conn: Connection, *, msisdn: str, code: str, approve: bool,
               now: datetime) -> Answered | Refusal:
        waiting = conn.execute(select(agent_redemptions).where(and_(
            agent_redemptions.c.member_msisdn == msisdn, agent_redemptions.c.state == PENDING))
            .order_by(agent_redemptions.c.created_at.desc(), agent_redemptions.c.id.desc())
            .with_for_update()).all()
        if not waiting:
            return Refusal("nothing_pending")
        row = next((r for r in waiting if digest(r.reference, str(code)) == r.code_digest), None)
        if row is None:
            return self._wrong_code(conn, waiting[0], now)
        if as_utc(row.expires_at) <= now:
            self.end(conn, row, EXPIRED, now)
            return Answered(outcome="expired", deal=self.deal(conn, row))
        if not approve:
            self.end(conn, row, REFUSED, now)
            log.info("agents.rdm_refused_by_member", reference=row.reference)
            return Answered(outcome="refused", deal=self.deal(conn, row))
        return self._approve(conn, row, now)

    def _wrong_code(self, conn, row, now: datetime) -> Answered:
        attempts = row.code_attempts + 1
        conn.execute(update(agent_redemptions).where(agent_redemptions.c.id == row.id)
                     .values(code_attempts=attempts))
        log.info("agents.wrong_code", reference=row.reference, attempts=attempts)
        if attempts < self.settings.code_attempts:
            return Answered(outcome="wrong_code", deal=self.deal(conn, row),
                            attempts_left=self.settings.code_attempts - attempts)
        self.end(conn, row, CANCELLED, now)
        return Answered(outcome="cancelled", deal=self.deal(conn, row))

    def _approve(self, conn, row, now: datetime) -> Answered:
        network_now = network.load_network(conn)
        chain = rules.chain(network_now, row.agent_code)
        plan = self.settings.plans.in_force(local_days.local_date(now, self.settings.zone))
        month_to_date = self._month_to_date(conn, row, now)
        member_today = self._member_today(conn, row, now)
        priced = rules.compute(plan, row.category, row.points, month_to_date, chain,
                               member_points_today=member_today)
        try:
            queued = self.post(conn, row.reference, postings.APPROVAL, postings.approval(
                self.settings.namespace, row.reference, priced.shares, row.agent_code,
                row.settlement, self.settings.currency), now)
        except LedgerError as error:          # the hold ran out in the ledger before the sweep
            log.info("agents.approval_refused", reference=row.reference, error=error.code)
            self.end(conn, row, EXPIRED, now)
            return Answered(outcome="expired", deal=self.deal(conn, row))
        conn.execute(update(agent_redemptions).where(agent_redemptions.c.id == row.id).values(
            state=APPROVING if queued else APPROVED, decided_at=now,
            plan_version=plan.version, plan_digest=plan.digest,
            month_to_date=month_to_date, member_points_today=member_today,
            chain=json.dumps([[a.code, a.level.value] for a in chain]),
            shares=json.dumps(priced.shares), pool=priced.pool))
        log.info("agents.rdm_approving" if queued else "agents.rdm_approved",
                 reference=row.reference, pool=priced.pool, plan=plan.version)
        if queued:                            # the receipts go when it posts (queued.py)
            return Answered(outcome="queued", deal=self.deal(conn, row))
        account = conn.execute(select(members.c.points_account_id).where(
            members.c.id == row.member_id)).scalar_one()
        return Answered(outcome="approved", deal=self.deal(conn, row),
                        commission=priced.shares.get(row.agent_code, 0),
                        balance=self.ledger.balance(conn, account).available,
                        dispute_hours=int(self.settings.dispute_window.total_seconds() // 3600))

    def _month_to_date(self, conn, row, now: datetime) -> int:
        r = agent_redemptions.c
        return int(conn.execute(select(func.coalesce(func.sum(r.points), 0)).where(
            r.agent_code == row.agent_code, r.state.in_(PRICED), r.id != row.id,
            r.decided_at >= local_days.month_start(now, self.settings.zone))).scalar_one())

    def _member_today(self, conn, row, now: datetime) -> int:
        r = agent_redemptions.c
        return int(conn.execute(select(func.coalesce(func.sum(r.points), 0)).where(
            r.agent_code == row.agent_code, r.member_id == row.member_id, r.id != row.id,
            r.category == row.category, r.state.in_(PRICED),
            r.decided_at >= local_days.day_start(now, self.settings.zone))).scalar_one())

    # --- ending without approval --------------------------------------------------------------------

    def end(self, conn: Connection, row, state: str, now: datetime, *, was: str = PENDING,
            held: bool = True) -> bool:
        """Refused, cancelled, expired or failed: the hold voided (``held``: there is one), the
        stock back; once (False: the row is no longer ``was``)."""
        changed = conn.execute(update(agent_redemptions).where(and_(
            agent_redemptions.c.id == row.id, agent_redemptions.c.state == was))
            .values(state=state, decided_at=now)).rowcount
        if not changed:
            return False
        try:
            if held:
                self.post(conn, row.reference, postings.VOID,
                          [postings.void(self.settings.namespace, row.reference)], now)
        except LedgerError as error:          # the ledger's own sweep expired it already
            log.info("agents.void_skipped", reference=row.reference, error=error.code)
        catalog.return_stock(conn, row.item_id, row.quantity)
        log.info("agents.rdm_ended", reference=row.reference, state=state)
        return True

    def expire_due(self, conn: Connection, now: datetime, limit: int = 200) -> list[Deal]:
        """End the pending redemptions whose time is up; the deals, for telling both sides."""
        rows = conn.execute(select(agent_redemptions).where(and_(
            agent_redemptions.c.state == PENDING, agent_redemptions.c.expires_at <= now))
            .order_by(agent_redemptions.c.expires_at).limit(limit)).all()
        return [self.deal(conn, row) for row in rows if self.end(conn, row, EXPIRED, now)]

    # --- reading ------------------------------------------------------------------------------------

    def by_reference(self, conn: Connection, reference: str):
        return conn.execute(select(agent_redemptions).where(
            agent_redemptions.c.reference == str(reference).strip().upper())).first()

    def deal(self, conn: Connection, row) -> Deal:
        agent = conn.execute(select(agents_table).where(agents_table.c.code == row.agent_code)).one()
        item = catalog.find(conn, "", by_id=row.item_id)
        return Deal(reference=row.reference, agent_code=agent.code, shop=agent.name,
                    agent_msisdn=agent.msisdn, agent_language=row.agent_language,
                    member_msisdn=row.member_msisdn, member_language=row.member_language,
                    item=dict(item.names) or {"en": item.code}, quantity=row.quantity,
                    points=row.points)

    def short_code_of(self, conn: Connection, reference: str) -> str:
        return self.by_reference(conn, reference).short_code

    def shown(self, conn, row) -> str:
        name = conn.execute(select(members.c.name).where(members.c.id == row.member_id)).scalar_one()
        return rules.mask_member(_national(row.member_msisdn), name)


def digest(reference: str, code: str) -> str:
    # Salted by the reference, so equal codes of two redemptions do not share a digest.
    return hashlib.sha256(f"{reference}:{code.strip()}".encode("utf-8", "replace")).hexdigest()


def _minutes(span: timedelta) -> int:
    return max(1, -(-int(span.total_seconds()) // 60))


def _national(msisdn: str) -> str:
    try:
        number = phonenumbers.parse("+" + msisdn)
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    except phonenumbers.NumberParseException:
        return msisdn
