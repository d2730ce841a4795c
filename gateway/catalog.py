"""The reward catalogue: what members can redeem, read from config/catalog.toml into the database.

Start at `parse` (the file, checked as hostile input like any config: one line naming the file,
the item and the key) and `load` (into the database).  Operators then change items with
`jifen catalog ...` (gateway/cli/catalog.py), which calls `add`, `save` and `set_stock`.

Stock is the one figure many members race for (a flash sale): `take_stock` lowers it with one
conditional UPDATE (``WHERE stock >= qty``), which the database serialises per row, so it can
never go below zero and never sells a unit twice.  NULL stock means unlimited.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.engine import Connection

from gateway.store.tables_catalog import catalog_item_names, catalog_items
from ledger_client import as_utc

KINDS = ("goods", "voucher", "airtime")      # goods are handed over by an agent at a shop
LANGUAGES = ("en", "zh", "sw", "fr", "es")
_CODE = re.compile(r"[A-Z][A-Z0-9]{1,15}")
_CATEGORY = re.compile(r"[a-z][a-z0-9_-]{0,23}")
_ITEM_KEYS = ("code", "category", "kind", "price", "stock", "per_member_limit", "sale_starts",
              "sale_ends", "active", "names")


class CatalogError(Exception):
    """The catalogue or a change to it cannot be used; `str()` is one line for the operator."""


@dataclass(frozen=True)
class Item:
    code: str
    category: str
    kind: str
    price: int                                  # points per unit
    names: dict[str, str] = field(default_factory=dict)
    stock: int | None = None                    # None: unlimited
    per_member_limit: int | None = None         # None: no limit
    sale_starts_at: datetime | None = None
    sale_ends_at: datetime | None = None
    active: bool = True
    id: int | None = None

    def name(self, language: str) -> str:
        """The item's name in ``language``, else English, else any, else its code."""
        return (self.names.get(language) or self.names.get("en")
                or next(iter(self.names.values()), self.code))

    def on_sale(self, now: datetime) -> bool:
        return self.active and (self.sale_starts_at is None or now >= self.sale_starts_at) and (
            self.sale_ends_at is None or now < self.sale_ends_at)


# --- the file --------------------------------------------------------------------------------

def parse(text: str, source: str = "catalog.toml") -> list[Item]:
    """The items in a catalogue file, every key checked; `CatalogError` on the first problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise CatalogError(f"{source}: invalid TOML: {error}") from None
    unknown = sorted(set(data) - {"items"})
    if unknown:
        raise CatalogError(f"{source}: unknown key {unknown[0]!r} (the file holds [[items]])")
    tables = data.get("items", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise CatalogError(f"{source}: items: expected [[items]] tables")
    items, seen = [], {}
    for i, table in enumerate(tables):
        where = f"{source}: items[{i}]"
        item = item_from(table, where)
        if item.code in seen:
            raise CatalogError(f"{where}.code: {item.code} is also items[{seen[item.code]}]")
        seen[item.code] = i
        items.append(item)
    return items


def item_from(table: dict[str, Any], where: str) -> Item:
    """One checked `Item` from a TOML table (or the CLI's equivalent)."""
    unknown = sorted(set(table) - set(_ITEM_KEYS))
    if unknown:
        raise CatalogError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(_ITEM_KEYS)})")
    for key in ("code", "category", "kind", "price", "names"):
        if key not in table:
            raise CatalogError(f"{where}.{key}: required key is missing")
    item = Item(
        code=check_code(table["code"], f"{where}.code"),
        category=_checked(table["category"], f"{where}.category",
                          lambda v: isinstance(v, str) and _CATEGORY.fullmatch(v),
                          'a lower-case word such as "food"'),
        kind=_checked(table["kind"], f"{where}.kind", lambda v: v in KINDS,
                      " or ".join(f'"{k}"' for k in KINDS)),
        price=_count(table["price"], f"{where}.price", low=1),
        names=check_names(table["names"], f"{where}.names"),
        stock=_count(table["stock"], f"{where}.stock") if "stock" in table else None,
        per_member_limit=(_count(table["per_member_limit"], f"{where}.per_member_limit", low=1)
                          if "per_member_limit" in table else None),
        sale_starts_at=_moment(table.get("sale_starts"), f"{where}.sale_starts"),
        sale_ends_at=_moment(table.get("sale_ends"), f"{where}.sale_ends"),
        active=_checked(table.get("active", True), f"{where}.active",
                        lambda v: isinstance(v, bool), "true or false"),
    )
    return check_window(item, where)


def check_code(value: Any, where: str) -> str:
    code = value.upper() if isinstance(value, str) else value
    return _checked(code, where, lambda v: isinstance(v, str) and _CODE.fullmatch(v),
                    "2 to 16 letters and digits, starting with a letter, such as RICE5")


def check_names(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or "en" not in value:
        raise CatalogError(f"{where}: expected a table of names per language with at least "
                           '"en", e.g. names = { en = "Rice 5kg", zh = "大米5公斤" }')
    for language, name in value.items():
        if language not in LANGUAGES:
            raise CatalogError(f"{where}: unknown language {language!r} "
                               f"(known: {', '.join(LANGUAGES)})")
        if not isinstance(name, str) or not 1 <= len(name.strip()) <= 60 or "\n" in name:
            raise CatalogError(f"{where}.{language}: expected a name of 1 to 60 characters")
    return {language: name.strip() for language, name in value.items()}


def check_window(item: Item, where: str) -> Item:
    if item.sale_starts_at and item.sale_ends_at and item.sale_ends_at <= item.sale_starts_at:
        raise CatalogError(f"{where}.sale_ends: must be after sale_starts")
    return item


def _checked(value: Any, where: str, ok, expected: str) -> Any:
    if not ok(value):
        shown = repr(value)[:60] if not isinstance(value, dict) else "a table"
        raise CatalogError(f"{where}: expected {expected}, got {shown}")
    return value


def _count(value: Any, where: str, low: int = 0) -> int:
    return _checked(value, where, lambda v: isinstance(v, int) and not isinstance(v, bool)
                    and low <= v <= 10**9, f"a whole number from {low} to 1000000000")


def _moment(value: Any, where: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            pass
    _checked(value, where, lambda v: isinstance(v, datetime) and v.tzinfo is not None,
             "a date and time with its offset, such as 2026-12-12T00:00:00+08:00")
    return value.astimezone(timezone.utc)


# --- the database ----------------------------------------------------------------------------

def load(conn: Connection, items: list[Item], now: datetime, *,
         reset_stock: bool = False) -> tuple[int, int]:
    """Add new items and update known ones from a parsed file; (added, updated).

    A known item keeps its current stock (units may have been redeemed since the file was
    written) unless ``reset_stock``.
    """
    added = updated = 0
    for item in items:
        existing = find(conn, item.code)
        if existing is None:
            add(conn, item, now)
            added += 1
            continue
        stock = item.stock if reset_stock else existing.stock
        _write(conn, replace(item, id=existing.id, stock=stock), now)
        updated += 1
    return added, updated


def add(conn: Connection, item: Item, now: datetime) -> int:
    if find(conn, item.code) is not None:
        raise CatalogError(f"item {item.code} already exists (change it with `catalog set`)")
    item_id = conn.execute(insert(catalog_items).values(
        code=item.code, category=item.category, kind=item.kind, price=item.price,
        stock=item.stock, per_member_limit=item.per_member_limit,
        sale_starts_at=item.sale_starts_at, sale_ends_at=item.sale_ends_at,
        active=int(item.active), updated_at=now)).inserted_primary_key[0]
    _write_names(conn, item_id, item.names)
    return item_id


def save(conn: Connection, item: Item, now: datetime) -> None:
    """Write a changed item (one that `find` returned, so it has its id)."""
    _write(conn, check_window(item, f"item {item.code}"), now)


def set_stock(conn: Connection, code: str, stock: int | None, now: datetime, *,
              relative: bool = False) -> int | None:
    """Set the stock (None: unlimited), or add ``stock`` to it when ``relative``; the new figure."""
    item = find(conn, code)
    if item is None:
        raise CatalogError(f"no item {code}")
    column = catalog_items.c.stock
    if relative:
        if item.stock is None:
            raise CatalogError(f"item {code} has unlimited stock; set a figure first")
        done = conn.execute(update(catalog_items).where(and_(
            catalog_items.c.id == item.id, column + stock >= 0)).values(
            stock=column + stock, updated_at=now))
        if done.rowcount != 1:
            raise CatalogError(f"item {code} has fewer than {-stock} units in stock")
    else:
        conn.execute(update(catalog_items).where(catalog_items.c.id == item.id)
                     .values(stock=stock, updated_at=now))
    return find(conn, code).stock


def take_stock(conn: Connection, item_id: int, quantity: int) -> bool:
    """Take ``quantity`` units if there are that many (or stock is unlimited), atomically."""
    return conn.execute(update(catalog_items).where(and_(
        catalog_items.c.id == item_id,
        or_(catalog_items.c.stock.is_(None), catalog_items.c.stock >= quantity),
    )).values(stock=catalog_items.c.stock - quantity)).rowcount == 1


def return_stock(conn: Connection, item_id: int, quantity: int) -> None:
    conn.execute(update(catalog_items).where(and_(
        catalog_items.c.id == item_id, catalog_items.c.stock.is_not(None)))
        .values(stock=catalog_items.c.stock + quantity))


def find(conn: Connection, code: str, *, by_id: int | None = None) -> Item | None:
    """The item with ``code`` (any case), or with id ``by_id``; None if there is none."""
    where = (catalog_items.c.id == by_id) if by_id is not None else (
        catalog_items.c.code == str(code).upper())
    row = conn.execute(select(catalog_items).where(where)).first()
    return None if row is None else _item(row, _names(conn, [row.id])[row.id])


def items(conn: Connection, *, category: str | None = None, now: datetime | None = None
          ) -> list[Item]:
    """Items by category and code; only those on sale at ``now`` when it is given."""
    query = select(catalog_items).order_by(catalog_items.c.category, catalog_items.c.code)
    if category is not None:
        query = query.where(catalog_items.c.category == category)
    rows = conn.execute(query).all()
    names = _names(conn, [row.id for row in rows])
    found = [_item(row, names[row.id]) for row in rows]
    return [item for item in found if now is None or item.on_sale(now)]


def _write(conn: Connection, item: Item, now: datetime) -> None:
    conn.execute(update(catalog_items).where(catalog_items.c.id == item.id).values(
        category=item.category, kind=item.kind, price=item.price, stock=item.stock,
        per_member_limit=item.per_member_limit, sale_starts_at=item.sale_starts_at,
        sale_ends_at=item.sale_ends_at, active=int(item.active), updated_at=now))
    _write_names(conn, item.id, item.names)


def _write_names(conn: Connection, item_id: int, names: dict[str, str]) -> None:
    conn.execute(delete(catalog_item_names).where(catalog_item_names.c.item_id == item_id))
    conn.execute(insert(catalog_item_names), [
        dict(item_id=item_id, language=language, name=name) for language, name in names.items()])


def _names(conn: Connection, ids: list[int]) -> dict[int, dict[str, str]]:
    names: dict[int, dict[str, str]] = {item_id: {} for item_id in ids}
    if ids:
        for row in conn.execute(select(catalog_item_names).where(
                catalog_item_names.c.item_id.in_(ids))):
            names[row.item_id][row.language] = row.name
    return names


def _item(row, names: dict[str, str]) -> Item:
    return Item(code=row.code, category=row.category, kind=row.kind, price=row.price,
                names=names, stock=row.stock, per_member_limit=row.per_member_limit,
                sale_starts_at=as_utc(row.sale_starts_at), sale_ends_at=as_utc(row.sale_ends_at),
                active=bool(row.active), id=row.id)
