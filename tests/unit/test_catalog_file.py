"""The catalogue file is checked like any config: one line naming the file, the item and the key."""

from datetime import datetime, timezone
from pathlib import Path

import pytest

from gateway import catalog

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "catalog.toml"
GOOD = '''
[[items]]
code = "air50"
category = "airtime"
kind = "airtime"
price = 100
names = { en = "Airtime 50", zh = "话费50" }
'''


def test_the_shipped_catalogue_is_valid_and_named_in_every_language():
    items = catalog.parse(SHIPPED.read_text(encoding="utf-8"), str(SHIPPED))
    assert {"RICE5", "AIR50", "MOVIE"} <= {item.code for item in items}
    assert {item.kind for item in items} == set(catalog.KINDS)
    for item in items:
        assert set(item.names) == set(catalog.LANGUAGES), item.code
    rice = next(item for item in items if item.code == "RICE5")
    assert (rice.name("zh"), rice.name("xx"), rice.stock) == ("大米5公斤", "Rice 5kg", 200)


def test_codes_are_upper_case_and_missing_keys_mean_unlimited():
    [item] = catalog.parse(GOOD)
    assert (item.code, item.stock, item.per_member_limit, item.active) == ("AIR50", None, None,
                                                                          True)


@pytest.mark.parametrize("change, says", [
    ('price = 0', "items[0].price"),
    ('price = 1.5', "items[0].price"),
    ('price = true', "items[0].price"),
    ('kind = "service"', "items[0].kind"),
    ('code = "A"', "items[0].code"),
    ('code = "AIR 50"', "items[0].code"),
    ('stock = -1', "items[0].stock"),
    ('category = "Air Time"', "items[0].category"),
    ('names = { zh = "话费" }', "items[0].names"),
    ('names = { en = "Airtime", xx = "?" }', "unknown language"),
    ('names = { en = "" }', "items[0].names.en"),
    ('sale_starts = 2026-12-12T00:00:00', "items[0].sale_starts"),
    ('sale_starts = 2026-12-13T00:00:00Z\nsale_ends = 2026-12-12T00:00:00Z', "sale_ends"),
    ('colour = "red"', "unknown key 'colour'"),
])
def test_a_bad_value_is_one_line_naming_the_item_and_key(change, says):
    key = change.split("=")[0].strip()
    text = "\n".join(line for line in GOOD.splitlines() if not line.startswith(key + " "))
    with pytest.raises(catalog.CatalogError) as bad:
        catalog.parse(text + "\n" + change + "\n", "shop.toml")
    message = str(bad.value)
    assert message.startswith("shop.toml: ") and "\n" not in message
    assert says in message


def test_the_same_code_twice_is_refused():
    with pytest.raises(catalog.CatalogError, match="also items"):
        catalog.parse(GOOD + GOOD)


def test_not_toml_is_refused():
    with pytest.raises(catalog.CatalogError, match="invalid TOML"):
        catalog.parse("[[items]\n")


def test_a_sale_window_is_start_inclusive_and_end_exclusive():
    start = datetime(2026, 12, 12, tzinfo=timezone.utc)
    end = datetime(2026, 12, 13, tzinfo=timezone.utc)
    item = catalog.Item("SOLAR", "x", "voucher", 1, {"en": "x"}, sale_starts_at=start,
                        sale_ends_at=end)
    assert not item.on_sale(start.replace(hour=0) - (end - start) / 86400)
    assert item.on_sale(start) and not item.on_sale(end)
    assert not catalog.Item("X", "x", "voucher", 1, {"en": "x"}, active=False).on_sale(start)
