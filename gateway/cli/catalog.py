"""`jifen catalog`: the reward catalogue in the database.

    jifen catalog load [FILE] [--reset-stock]    config/catalog.toml (or FILE) into the database
    jifen catalog list [--language zh]           every item, its stock and its sale window
    jifen catalog add CODE --kind K --category C --price P --name en="Rice 5kg" [...]
    jifen catalog set CODE [--price P] [--name zh=大米5公斤] [--limit N|none] [--ends T|none] ...
    jifen catalog stock CODE N | +N | -N | unlimited

Running gateways see a change at the next message: they read items from the database.  A bad
value is refused with one line and nothing is written.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from gateway import catalog
from gateway.cli.core import CommandError, migrated_engine


def register(commands) -> None:
    parser = commands.add_parser("catalog", help="the reward catalogue")
    actions = parser.add_subparsers(required=True, metavar="ACTION")

    load = actions.add_parser("load", help="load the catalogue file into the database")
    load.add_argument("file", nargs="?", help="default: [redemption] catalog in the config")
    load.add_argument("--reset-stock", action="store_true",
                      help="also set the stock of known items to the file's figures")
    load.set_defaults(handler=_load)

    listing = actions.add_parser("list", help="every item")
    listing.add_argument("--language", default="en")
    listing.set_defaults(handler=_list)

    add = actions.add_parser("add", help="a new item")
    add.add_argument("code")
    add.add_argument("--kind", required=True, choices=catalog.KINDS)
    add.add_argument("--category", required=True)
    add.add_argument("--price", required=True, type=int, help="points per unit")
    _item_options(add)
    add.set_defaults(handler=_add)

    change = actions.add_parser("set", help="change an item")
    change.add_argument("code")
    change.add_argument("--kind", choices=catalog.KINDS)
    change.add_argument("--category")
    change.add_argument("--price", type=int)
    change.add_argument("--active", choices=("yes", "no"))
    _item_options(change)
    change.set_defaults(handler=_set)

    stock = actions.add_parser("stock", help="set the stock: N, +N, -N or unlimited")
    stock.add_argument("code")
    stock.add_argument("amount")
    stock.set_defaults(handler=_stock)


def _item_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", action="append", default=[], metavar="LANG=NAME",
                        help="the name in one language (repeat for more)")
    parser.add_argument("--stock", help="units, or 'unlimited'")
    parser.add_argument("--limit", help="most units per member, or 'none'")
    parser.add_argument("--starts", help="sale start, e.g. 2026-12-12T20:00+03:00, or 'none'")
    parser.add_argument("--ends", help="sale end, or 'none'")


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _load(config, args):
    path = Path(args.file or config.redemption.catalog_path)
    try:
        items = catalog.parse(path.read_text(encoding="utf-8"), str(path))
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror or error}") from None
    except catalog.CatalogError as error:
        raise CommandError(str(error)) from None
    with migrated_engine(config).begin() as conn:
        added, updated = catalog.load(conn, items, _now(), reset_stock=args.reset_stock)
    print(f"catalogue loaded from {path}: {added} added, {updated} updated")


def _list(config, args):
    with migrated_engine(config).connect() as conn:
        found = catalog.items(conn)
    now = _now()
    print(f"{'code':<8} {'kind':<8} {'category':<10} {'price':>7} {'stock':>9} {'limit':>5}  "
          f"{'on sale':<7} name")
    for item in found:
        stock = "unlimited" if item.stock is None else f"{item.stock:,}"
        limit = "-" if item.per_member_limit is None else str(item.per_member_limit)
        print(f"{item.code:<8} {item.kind:<8} {item.category:<10} {item.price:>7,} {stock:>9} "
              f"{limit:>5}  {'yes' if item.on_sale(now) else 'no':<7} "
              f"{item.name(args.language)}{_window(item)}")


def _window(item: catalog.Item) -> str:
    if not (item.sale_starts_at or item.sale_ends_at):
        return ""
    show = (lambda t: t.strftime("%Y-%m-%d %H:%M UTC") if t else "...")
    return f"  [{show(item.sale_starts_at)} to {show(item.sale_ends_at)}]"


def _fields(args) -> dict:
    """The item keys given on the command line, as catalog.item_from takes them."""
    fields = {}
    if args.name:
        names = {}
        for pair in args.name:
            language, _, name = pair.partition("=")
            if not name:
                raise CommandError(f"--name {pair!r}: write LANG=NAME, e.g. en=\"Rice 5kg\"")
            names[language.strip()] = name
        fields["names"] = names
    for option, key in (("stock", "stock"), ("limit", "per_member_limit")):
        value = getattr(args, option)
        if value is not None:
            fields[key] = None if value.lower() in ("unlimited", "none") else _int(value, option)
    for option, key in (("starts", "sale_starts"), ("ends", "sale_ends")):
        value = getattr(args, option)
        if value is not None:
            fields[key] = None if value.lower() == "none" else value
    for key in ("kind", "category", "price"):
        if getattr(args, key, None) is not None:
            fields[key] = getattr(args, key)
    if getattr(args, "active", None) is not None:
        fields["active"] = args.active == "yes"
    return fields


def _int(text: str, option: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise CommandError(f"--{option}: expected a whole number, got {text!r}") from None


def _add(config, args):
    fields = {key: value for key, value in _fields(args).items() if value is not None}
    try:
        item = catalog.item_from({"code": args.code, **fields}, f"item {args.code}")
        with migrated_engine(config).begin() as conn:
            catalog.add(conn, item, _now())
    except catalog.CatalogError as error:
        raise CommandError(str(error)) from None
    print(f"item {item.code} added")


def _set(config, args):
    fields = _fields(args)
    if not fields:
        raise CommandError("nothing to change: give at least one option")
    try:
        with migrated_engine(config).begin() as conn:
            current = catalog.find(conn, args.code)
            if current is None:
                raise catalog.CatalogError(f"no item {args.code.upper()}")
            merged = _as_table(current) | fields
            if "names" in fields:
                merged["names"] = current.names | fields["names"]
            checked = catalog.item_from({k: v for k, v in merged.items() if v is not None},
                                        f"item {current.code}")
            catalog.save(conn, replace(checked, id=current.id), _now())
    except catalog.CatalogError as error:
        raise CommandError(str(error)) from None
    print(f"item {checked.code} changed")


def _as_table(item: catalog.Item) -> dict:
    table = {"code": item.code, "category": item.category, "kind": item.kind,
             "price": item.price, "names": item.names, "active": item.active}
    optional = {"stock": item.stock, "per_member_limit": item.per_member_limit,
                "sale_starts": item.sale_starts_at, "sale_ends": item.sale_ends_at}
    return table | {key: value for key, value in optional.items() if value is not None}


def _stock(config, args):
    amount = args.amount.strip().lower()
    try:
        with migrated_engine(config).begin() as conn:
            if amount == "unlimited":
                left = catalog.set_stock(conn, args.code, None, _now())
            elif amount[:1] in "+-" and amount[1:].isdigit():
                left = catalog.set_stock(conn, args.code, int(amount), _now(), relative=True)
            elif amount.isdigit():
                left = catalog.set_stock(conn, args.code, int(amount), _now())
            else:
                raise CommandError(f"stock: expected N, +N, -N or unlimited, got {args.amount!r}")
    except catalog.CatalogError as error:
        raise CommandError(str(error)) from None
    print(f"item {args.code.upper()}: stock {'unlimited' if left is None else f'{left:,}'}")
