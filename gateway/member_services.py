"""What the member commands CAT, REDEEM, HIST and PIN ask of the gateway, over its backend.

`RedemptionServices` is the part of the pipeline's `LedgerServices` (commands/context.py
`Services`) that calls the catalogue (gateway/catalog.py) and the `RedemptionService`
(gateway/redeem/), inside the transaction of the MO that asked, and turns what they return into
the plain values of commands/context.py, so the handlers stay pure: no rows, no enums, no
datetimes to compute with. Figures a reply needs and the backend does not carry are added here
(the points a member has when they have too few, the minutes a PIN stays locked, the item's name
in the member's language).
"""

from __future__ import annotations

import dataclasses
import math

from gateway import catalog, local_days
from gateway.commands import context
from gateway.redeem import Redemption, Refusal, Refused
from ledger_client import as_utc


class RedemptionServices:
    """Mixed into `LedgerServices`, which holds ``_conn``, ``_ledger``, ``_now``,
    ``_redemptions`` (a `RedemptionService`, or None where redeeming is not set up) and
    ``_remote`` (the central ledger's figures read before the transaction, or None)."""

    _redemptions = None
    _remote = None

    def catalogue(self, language: str) -> tuple[context.CatalogEntry, ...]:
        return tuple(
            context.CatalogEntry(item.code, item.name(language), item.category, item.kind,
                                 item.price)
            for item in catalog.items(self._conn, now=self._now())
            if item.stock is None or item.stock > 0)

    def redeem(self, member: context.Member, item: str, quantity: int, pin: str | None, *,
               key: str, language: str, short_code: str) -> context.Redeemed | context.Refused:
        done = self._service().redeem(
            self._conn, member_id=member.id, item_code=item, quantity=quantity, key=key,
            now=self._now(), short_code=short_code, language=language,
            pin=None if pin is None else str(pin))
        if isinstance(done, Redemption):
            return context.Redeemed(done.reference, done.item.code, done.item.name(language),
                                    done.item.kind, done.quantity, done.points,
                                    done.state.value, done.voucher_codes)
        return self._refused(done, member, item, language)

    def history(self, member: context.Member, limit: int) -> tuple[context.Movement, ...]:
        """The lines dated on the operator's clock: 23:30 UTC is already tomorrow in Nairobi."""
        zone = local_days.UTC if self._redemptions is None else self._redemptions.zone
        if self._remote is not None:    # the central ledger's journal, not this gateway's queue
            movements = self._remote_figure(self._remote.history, member, limit)
        else:
            # Queued mode names a redemption "redeem (processing)": the movement is the redeem.
            movements = tuple(context.Movement(line["at"], line["points"],
                                               line["what"].split(" ")[0], line["reference"])
                              for line in self._service().history(self._conn, member.id, limit))
        return tuple(dataclasses.replace(m, at=as_utc(m.at).astimezone(zone)) for m in movements)

    def set_pin(self, member: context.Member, new_pin: str) -> context.Refused | None:
        refused = self._service().pins.set_first(self._conn, member.id, str(new_pin),
                                                 self._now())
        return None if refused is None else self._refused(refused, member, None, None)

    def change_pin(self, member: context.Member, old_pin: str,
                   new_pin: str) -> context.Refused | None:
        refused = self._service().pins.change(self._conn, member.id, str(old_pin),
                                              str(new_pin), self._now())
        return None if refused is None else self._refused(refused, member, None, None)

    def _service(self):
        if self._redemptions is None:
            raise context.ServiceUnavailable("redemption is not configured")
        return self._redemptions

    def _refused(self, refused: Refused, member: context.Member, item: str | None,
                 language: str | None) -> context.Refused:
        details = {key: value for key, value in refused.details.items()
                   if isinstance(value, (int, str))}
        if refused.reason is Refusal.INSUFFICIENT_POINTS:
            details["available"] = self._ledger.balance(self._conn,
                                                        member.points_account).available
        if refused.reason is Refusal.PIN_LOCKED:
            left = (refused.details["locked_until"] - self._now()).total_seconds()
            details["minutes"] = max(1, math.ceil(left / 60))
        found = catalog.find(self._conn, item) if item else None
        if found is not None:
            details["item"] = found.name(language or "en")
        return context.Refused(refused.reason.value, details)
