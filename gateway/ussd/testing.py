"""`FakeActions`: the `Actions` interface over a small in-memory shop, for tests and demos.

It answers as the real command handlers would, with realistic values (catalogue names as long as
the sample catalogue's, thousands separators, a dozen items so lists page), and records every call
that changes something in `calls`, so a test can check that a menu leaf called the right action with
the right values and idempotency key. Set `unavailable` to make every call raise ActionUnavailable,
as the pipeline does when the ledger does not answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from gateway.ussd.actions import ActionUnavailable, Caller, Entry

__all__ = ["FakeActions", "GOOD_PIN"]

GOOD_PIN = "1234"

_CATALOGUE = (
    ("RICE5", "Rice 5kg", 500), ("OIL2", "Cooking oil 2 litres", 450), ("SUGAR2", "Sugar 2kg", 250),
    ("MAIZE2", "Maize flour 2kg", 200), ("SOAP", "Bar soap", 60), ("TEA", "Tea leaves 500g", 180),
    ("AIR50", "Airtime 50", 50), ("AIR100", "Airtime 100", 100), ("SOLAR", "Solar lamp", 12_500),
    ("BEANS", "Beans 1kg", 150), ("SALT", "Salt 1kg", 40), ("MILK", "Long-life milk 1 litre", 90),
)
_NAMES_ZH = {"RICE5": "大米5公斤", "OIL2": "金龙鱼食用油5升", "SOLAR": "太阳能灯"}


@dataclass
class FakeActions:
    approvals_waiting: list[Entry] = field(default_factory=lambda: [
        Entry("4821", {"shop": "Shop Li", "quantity": 2, "item_name": "Rice 5kg", "total": 1000}),
        Entry("5930", {"shop": "Mama Njeri Shop", "quantity": 20, "item_name": "Cooking oil 2 litres",
                       "total": 9000}),
    ])
    catalogue_items: Sequence[tuple[str, str, int]] = _CATALOGUE
    history_lines: int = 8
    unavailable: bool = False
    calls: list[tuple] = field(default_factory=list)

    def balance(self, caller: Caller) -> str:
        self._check()
        return "积分余额：1,350分。" if caller.language == "zh" else "Jifen: your balance is 1,350 pts."

    def catalogue(self, caller: Caller) -> Sequence[Entry]:
        self._check()
        return [self._entry(caller, *item) for item in self.catalogue_items]

    def item(self, caller: Caller, code: str) -> Entry | None:
        self._check()
        found = [item for item in self.catalogue_items if item[0] == code]
        return self._entry(caller, *found[0]) if found else None

    def redeem(self, caller: Caller, item: str, quantity: int, pin: str, key: str) -> str:
        return self._done("redeem", caller, pin, key, item, quantity,
                          text=f"You redeemed {quantity} x {item}. Ref R8K2P.")

    def history(self, caller: Caller) -> Sequence[Entry]:
        self._check()
        return [Entry(str(n), {"date": f"{n + 1:02d}/06", "points": f"-{(n + 1) * 150:,}",
                               "what": "Redeemed Rice 5kg"}) for n in range(self.history_lines)]

    def approvals(self, caller: Caller) -> Sequence[Entry]:
        self._check()
        return list(self.approvals_waiting)

    def approve(self, caller: Caller, approval: str, pin: str, key: str) -> str:
        return self._done("approve", caller, pin, key, approval, text=f"Approved {approval}.")

    def refuse(self, caller: Caller, approval: str, pin: str, key: str) -> str:
        return self._done("refuse", caller, pin, key, approval, text=f"Refused {approval}.")

    def approve_pushed(self, caller: Caller, approval: str, key: str) -> str:
        return self._done("approve_pushed", caller, None, key, approval, text=f"Approved {approval}.")

    def refuse_pushed(self, caller: Caller, approval: str, key: str) -> str:
        return self._done("refuse_pushed", caller, None, key, approval, text=f"Refused {approval}.")

    def set_language(self, caller: Caller, language: str) -> str:
        return self._done("set_language", caller, None, None, language, text=f"Language: {language}.")

    def agent_redeem(self, caller: Caller, msisdn: str, item: str, quantity: int, pin: str,
                     key: str) -> str:
        return self._done("agent_redeem", caller, pin, key, msisdn, item, quantity,
                          text=f"Asked {msisdn} to approve {quantity} x {item}.")

    def commission(self, caller: Caller) -> str:
        return self._done("commission", caller, None, None, text="Commission this month: 3,420 pts.")

    def settlement(self, caller: Caller) -> str:
        return self._done("settlement", caller, None, None, text="Next settlement: KES 1,250 on 30/06.")

    def sales(self, caller: Caller) -> str:
        return self._done("sales", caller, None, None, text="Sales this month: 57 for 48,500 pts.")

    def reverse(self, caller: Caller, reference: str, pin: str, key: str) -> str:
        return self._done("reverse", caller, pin, key, reference, text=f"Reversed {reference}.")

    def _entry(self, caller: Caller, code: str, name: str, points: int) -> Entry:
        shown = _NAMES_ZH.get(code, name) if caller.language == "zh" else name
        return Entry(code, {"item_name": shown, "item_points": points})

    def _done(self, name: str, caller: Caller, pin: str | None, key: str | None, *args, text: str) -> str:
        self._check()
        self.calls.append((name, caller.msisdn, *args, *((pin,) if pin is not None else ()),
                           *((key,) if key is not None else ())))
        if pin is not None and pin != GOOD_PIN:
            return "Wrong PIN. 2 tries left."
        return text

    def _check(self) -> None:
        if self.unavailable:
            raise ActionUnavailable("the fake ledger is down")
