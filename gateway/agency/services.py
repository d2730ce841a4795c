"""`AgencyServices`: the agent commands' part of the pipeline's `LedgerServices`.

Mixed in like `RedemptionServices` (gateway/member_services.py): it holds nothing of its own but
``_agency`` (an `AgencyService`, or None where the agent network is not set up: every agent
command then answers "try later"), and calls it with the MO's connection and the injected clock.
"""

from __future__ import annotations

from gateway.agency import aftersales, agent_pins
from gateway.commands import context
from gateway.redeem import notices


class AgencyServices:
    """Mixed into `LedgerServices`, which holds ``_conn``, ``_now`` and ``_agency``."""

    _agency = None
    notified = 0          # SMS queued to other phones than the sender's, for the pipeline's count

    def start_assisted(self, *, agent_msisdn, member_msisdn, item, quantity, pin, key, short_code,
                       language):
        return self._agency_service().start(
            self._conn, agent_msisdn=agent_msisdn, member_msisdn=member_msisdn, item=item,
            quantity=quantity, pin=None if pin is None else str(pin), key=key,
            short_code=short_code, language=language, now=self._now())

    def answer_assisted(self, *, msisdn, code, approve):
        return self._agency_service().answer(self._conn, msisdn=msisdn, code=code,
                                             approve=approve, now=self._now())

    def agent_figures(self, *, agent_msisdn, period):
        return aftersales.figures(self._agency_service(), self._conn, agent_msisdn, period,
                                  self._now())

    def reverse_assisted(self, *, agent_msisdn, reference):
        return aftersales.reverse_by_agent(self._agency_service(), self._conn, agent_msisdn,
                                           reference, self._now())

    def dispute_assisted(self, *, msisdn, reference):
        return aftersales.dispute(self._agency_service(), self._conn, msisdn,
                                  None if reference is None else str(reference), self._now())

    def set_agent_pin(self, *, agent_msisdn, pin, new_pin):
        return agent_pins.set_pin(self._agency_service(), self._conn, agent_msisdn, str(pin),
                                  None if new_pin is None else str(new_pin), self._now())

    def notify(self, msisdn, short_code, text, language, key):
        self.notified += notices.queue(self._conn, key, to=msisdn, short_code=short_code,
                                       text=text, language=language, now=self._now())

    def _agency_service(self):
        if self._agency is None:
            raise context.ServiceUnavailable("the agent network is not set up")
        return self._agency
