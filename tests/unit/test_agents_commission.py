"""Commission plans: exact integer shares, versions that reproduce their figures, splitting earns nothing."""

import datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents import (
    AgentConfigError, FixedFee, Level, PercentRate, Plan, PlanBook, UnknownCategory, UnknownPlan,
    compute, load_plans, plans_from_toml,
)
from agents.commission import split_pool

FAST = settings(max_examples=300, deadline=None)
SHIPPED = Path(__file__).resolve().parents[2] / "config" / "commissions.toml"
SPLIT = {Level.SHOP: 6000, Level.SUB_AGENT: 2500, Level.MASTER: 1500}


class Link:
    def __init__(self, code, level):
        self.code, self.level = code, level


SHOP, SUB, MASTER = Link("A1023", Level.SHOP), Link("S10", Level.SUB_AGENT), Link("M1", Level.MASTER)
CHAINS = {"full": (SHOP, SUB, MASTER), "no sub": (SHOP, MASTER), "sub redeems": (SUB, MASTER),
          "master redeems": (MASTER,)}


def plan(categories=None, volume_bands=((0, 0),), split=None, version="v1", day=datetime.date(2026, 1, 1)):
    return Plan(version=version, effective_from=day, split_bp=split or SPLIT,
                categories=categories or {"groceries": PercentRate(300)}, volume_bands=volume_bands)


def price(p, value, mtd=0, chain=(SHOP, SUB, MASTER), category="groceries", before=0):
    return compute(p, category, value, mtd, chain, member_points_today=before)


# --- strategies ----------------------------------------------------------------------------------

def rising_bands(amounts, max_bands=5):
    """Bands from 0 with rising starts and amounts that never fall."""
    return st.lists(st.tuples(st.integers(1, 30_000), amounts), min_size=0, max_size=max_bands - 1).flatmap(
        lambda steps: amounts.map(lambda first: _accumulate(first, steps)))


def _accumulate(first, steps):
    bands, start, amount = [(0, first)], 0, first
    for gap, rise in steps:
        start, amount = start + gap, amount + rise
        bands.append((start, amount))
    return tuple(bands)


rates = st.one_of(st.integers(0, 10_000).map(PercentRate),
                  rising_bands(st.integers(0, 200)).map(FixedFee))


@st.composite
def splits(draw):
    sub = draw(st.integers(0, 10_000))
    master = draw(st.integers(0, 10_000 - sub))
    return {Level.SHOP: 10_000 - sub - master, Level.SUB_AGENT: sub, Level.MASTER: master}


categories = st.dictionaries(st.sampled_from(["groceries", "farm", "solar"]), rates, min_size=1)
plans = st.builds(plan, categories=categories.map(lambda c: {"groceries": PercentRate(300), **c}),
                  volume_bands=rising_bands(st.integers(0, 5_000), 4), split=splits())
chains = st.sampled_from(list(CHAINS.values()))
values = st.integers(1, 100_000)
counters = st.integers(0, 1_000_000)


# --- the shares always add up to the pool --------------------------------------------------------

@FAST
@given(plans, st.sampled_from(["groceries", "farm", "solar"]), values, counters, counters, chains)
def test_shares_sum_exactly_to_the_pool(p, category, value, mtd, before, chain):
    if category not in p.categories:
        category = "groceries"
    result = compute(p, category, value, mtd, chain, member_points_today=before)
    assert sum(result.shares.values()) == result.pool
    assert list(result.shares) == [link.code for link in chain]
    assert all(share >= 0 for share in result.shares.values())
    assert result.plan_version == p.version


@FAST
@given(st.integers(0, 10**9), splits(), chains)
def test_split_is_exact_and_each_upline_level_is_rounded_down(pool, split, chain):
    shares = split_pool(pool, split, chain)
    assert sum(shares.values()) == pool
    if chain == (SHOP, SUB, MASTER):
        assert shares["S10"] == pool * split[Level.SUB_AGENT] // 10_000
        assert shares["M1"] == pool * split[Level.MASTER] // 10_000
        # The shop's exact share plus the remainders: under one point per upline level.
        assert 0 <= shares["A1023"] * 10_000 - pool * split[Level.SHOP] < 2 * 10_000


@pytest.mark.parametrize("pool, shop, sub, master", [
    (100, 60, 25, 15),
    (99, 61, 24, 14),       # 24.75 -> 24, 14.85 -> 14; the shop takes 60 + the remaining 1
    (7, 5, 1, 1),           # 1.75 -> 1, 1.05 -> 1
    (1, 1, 0, 0),
    (0, 0, 0, 0),
])
def test_rounding_rule_gives_the_remainder_to_the_shop(pool, shop, sub, master):
    assert split_pool(pool, SPLIT, (SHOP, SUB, MASTER)) == {"A1023": shop, "S10": sub, "M1": master}


# --- missing levels -------------------------------------------------------------------------------

@pytest.mark.parametrize("chain, pool, expected", [
    # a shop directly under a master: the sub-agent's share goes to the master, who supervises the shop
    (CHAINS["no sub"], 100, {"A1023": 60, "M1": 40}),
    (CHAINS["no sub"], 7, {"A1023": 5, "M1": 2}),        # each level rounded on its own: 1 + 1
    # a sub-agent serving a member itself does the shop's work and takes the shop's share
    (CHAINS["sub redeems"], 100, {"S10": 85, "M1": 15}),
    (CHAINS["sub redeems"], 7, {"S10": 6, "M1": 1}),
    (CHAINS["master redeems"], 7, {"M1": 7}),
])
def test_a_missing_levels_share_goes_to_the_nearest_agent_above_it(chain, pool, expected):
    assert split_pool(pool, SPLIT, chain) == expected


def test_a_shop_earns_the_same_share_wherever_it_sits():
    p = plan()
    assert price(p, 10_000, chain=CHAINS["full"]).shares["A1023"] == \
        price(p, 10_000, chain=CHAINS["no sub"]).shares["A1023"] == 180


@pytest.mark.parametrize("chain", [(), (SUB, SHOP), (SHOP, SHOP), (SHOP, MASTER, SUB)])
def test_a_chain_must_rise_level_by_level(chain):
    with pytest.raises(ValueError):
        split_pool(10, SPLIT, chain)


# --- bands ----------------------------------------------------------------------------------------

FARM = FixedFee(((0, 5), (500, 20), (2_000, 40)))


@pytest.mark.parametrize("value, pool", [(1, 5), (499, 5), (500, 20), (1_999, 20), (2_000, 40), (10**7, 40)])
def test_fixed_fee_band_edges(value, pool):
    assert price(plan({"farm": FARM}), value, category="farm").pool == pool


@pytest.mark.parametrize("before, value, pool", [
    (0, 300, 5), (300, 300, 15),       # 300 then 300 for one member earn the fee for 600 between them
    (499, 1, 15), (498, 1, 0),         # crossing into the next band pays the difference, else nothing
    (2_000, 5_000, 0),                 # the top band is already earned
])
def test_fixed_fee_is_charged_on_the_members_running_total_today(before, value, pool):
    assert price(plan({"farm": FARM}), value, category="farm", before=before).pool == pool


VOLUME = ((0, 0), (50_000, 1_000), (200_000, 2_500))


@pytest.mark.parametrize("mtd, value, uplift, pool", [
    (48_999, 1_000, 0, 30),            # reaches 49,999: base 3% of 1,000
    (49_000, 1_000, 1_000, 33),        # reaches 50,000 exactly: +10%, on the whole redemption
    (198_999, 1_000, 1_000, 33),       # reaches 199,999
    (199_000, 1_000, 2_500, 37),       # reaches 200,000: +25% of 30 = 37.5 -> 37
])
def test_volume_band_edges_count_the_redemption_itself(mtd, value, uplift, pool):
    result = price(plan(volume_bands=VOLUME), value, mtd=mtd)
    assert (result.uplift_bp, result.pool) == (uplift, pool)


def test_the_uplift_raises_a_fixed_fee_too():
    assert price(plan({"farm": FARM}, VOLUME), 2_000, mtd=60_000, category="farm").pool == 44


# --- splitting earns nothing extra ----------------------------------------------------------------

def split_then_whole(p, category, pieces, mtd, before, chain):
    """The results of the pieces one after another, and of one redemption of their sum instead."""
    done, results = 0, []
    for piece in pieces:
        results.append(compute(p, category, piece, mtd + done, chain, member_points_today=before + done))
        done += piece
    return results, compute(p, category, done, mtd, chain, member_points_today=before)


@FAST
@given(plans, st.sampled_from(["groceries", "farm", "solar"]), st.lists(st.integers(1, 30_000), min_size=1,
       max_size=6), counters, counters, chains)
def test_splitting_a_redemption_never_earns_a_bigger_pool(p, category, pieces, mtd, before, chain):
    if category not in p.categories:
        category = "groceries"
    parts, whole = split_then_whole(p, category, pieces, mtd, before, chain)
    assert sum(part.pool for part in parts) <= whole.pool
    # Nobody above the redeeming agent gains, and the redeeming agent gains at most the rounding
    # remainders: under one point per upline level (two) per piece.
    for code in whole.shares:
        earned = sum(part.shares[code] for part in parts)
        if code == chain[0].code:
            assert earned < whole.shares[code] + 2 * len(pieces)
        else:
            assert earned <= whole.shares[code]


@FAST
@given(rising_bands(st.integers(0, 200)), st.lists(st.integers(1, 30_000), min_size=1, max_size=6), counters,
       counters)
def test_fixed_fees_of_the_pieces_add_up_to_the_fee_of_the_whole_exactly(bands, pieces, mtd, before):
    parts, whole = split_then_whole(plan({"farm": FixedFee(bands)}), "farm", pieces, mtd, before,
                                    (SHOP, SUB, MASTER))
    assert sum(part.pool for part in parts) == whole.pool


def test_the_classic_split_across_a_band_edge_earns_nothing():
    # Per redemption, 499 + 1,500 would earn 5 + 20 = 25 where 1,999 earns 20.
    parts, whole = split_then_whole(plan({"farm": FARM}), "farm", [499, 1_500], 0, 0, (SHOP, SUB, MASTER))
    assert [part.pool for part in parts] == [5, 15] and whole.pool == 20


def test_a_split_straddling_a_volume_edge_earns_no_more_than_the_whole():
    # Were the uplift chosen by the volume before a redemption, the whole would earn 300 at +0% and
    # the pieces 30 + 297, the second at +10%.
    parts, whole = split_then_whole(plan(volume_bands=VOLUME), "groceries", [1_000, 9_000], 49_000, 0,
                                    (SHOP, SUB, MASTER))
    assert [part.pool for part in parts] == [33, 297] and whole.pool == 330


# --- versions reproduce the figures they recorded ---------------------------------------------------

def test_plans_in_force_by_day():
    book = load_plans(SHIPPED)
    assert book.in_force(datetime.date(2026, 6, 30)).version == "2026-01"
    assert book.in_force(datetime.date(2026, 7, 1)).version == "2026-07"
    with pytest.raises(UnknownPlan):
        book.in_force(datetime.date(2025, 12, 31))
    with pytest.raises(UnknownPlan):
        book.version("2027-01")


#: Figures recorded with the shipped plans. Editing a version in config/commissions.toml breaks these,
#: as it would break every redemption recorded with it: add a version instead.
RECORDED = [
    ("2026-01", "groceries", 1_000, 0, 0, "full", 30, {"A1023": 19, "S10": 7, "M1": 4}),
    ("2026-01", "groceries", 1_000, 49_000, 0, "full", 33, {"A1023": 21, "S10": 8, "M1": 4}),
    ("2026-01", "farm_inputs", 300, 0, 300, "full", 15, {"A1023": 10, "S10": 3, "M1": 2}),
    ("2026-01", "solar", 5_000, 250_000, 0, "no sub", 125, {"A1023": 76, "M1": 31 + 18}),
    ("2026-07", "groceries", 1_000, 0, 0, "full", 35, {"A1023": 20, "S10": 10, "M1": 5}),
    ("2026-07", "school", 2_500, 29_000, 0, "full", 105, {"A1023": 59, "S10": 31, "M1": 15}),
    ("2026-07", "farm_inputs", 500, 0, 0, "sub redeems", 25, {"S10": 22, "M1": 3}),
]


@pytest.mark.parametrize("version, category, value, mtd, before, chain, pool, shares", RECORDED)
def test_every_shipped_version_reproduces_its_recorded_figures(version, category, value, mtd, before, chain,
                                                               pool, shares):
    result = price(load_plans(SHIPPED).version(version), value, mtd, CHAINS[chain], category, before)
    assert (result.pool, result.shares, result.plan_version) == (pool, shares, version)


def to_toml(p):
    """A plan as an operator would write it in commissions.toml."""
    def pct(bp):
        return f'"{bp // 100}.{bp % 100:02d}%"'
    rates = "\n".join(
        f"{name} = {{ rate = {pct(rate.rate_bp)} }}" if isinstance(rate, PercentRate) else
        f"{name} = {{ fixed = [{', '.join(f'{{ from = {low}, fee = {fee} }}' for low, fee in rate.bands)}] }}"
        for name, rate in p.categories.items())
    split = ", ".join(f"{level.value} = {pct(bp)}" for level, bp in p.split_bp.items())
    volume = ", ".join(f"{{ from = {low}, uplift = {pct(up)} }}" for low, up in p.volume_bands)
    return (f'[[plans]]\nversion = "{p.version}"\neffective_from = {p.effective_from}\n'
            f"split = {{ {split} }}\nvolume_bands = [{volume}]\n[plans.categories]\n{rates}\n\n")


@settings(max_examples=60, deadline=None)
@given(st.lists(plans, min_size=1, max_size=3), plans, st.lists(st.tuples(values, counters, counters, chains),
       min_size=1, max_size=5))
def test_every_version_reproduces_its_figures_after_another_is_added(versions, newer, sales):
    versions = [Plan(**{**p.__dict__, "version": f"v{i}", "effective_from": datetime.date(2026, i + 1, 1)})
                for i, p in enumerate(versions)]
    text = "".join(map(to_toml, versions))
    book = plans_from_toml(text)
    recorded = [(p.version, p.digest, sale, compute(p, "groceries", sale[0], sale[1], sale[3],
                                                    member_points_today=sale[2]))
                for p in book.plans for sale in sales]
    newer = Plan(**{**newer.__dict__, "version": "v9", "effective_from": datetime.date(2027, 1, 1)})
    later = plans_from_toml(text + to_toml(newer))  # the operator adds a version; the old ones stay
    for version, digest, (value, mtd, before, chain), result in recorded:
        again = later.version(version)
        assert again.digest == digest
        assert compute(again, "groceries", value, mtd, chain, member_points_today=before) == result
    assert later.in_force(datetime.date(2027, 1, 1)).version == "v9"


def test_editing_a_version_in_place_changes_its_digest():
    text = SHIPPED.read_text()
    edited = plans_from_toml(text.replace('groceries = { rate = "3%" }', 'groceries = { rate = "3.01%" }'))
    original = load_plans(SHIPPED)
    assert edited.version("2026-01").digest != original.version("2026-01").digest
    assert edited.version("2026-07").digest == original.version("2026-07").digest
    assert load_plans(SHIPPED).version("2026-01").digest == original.version("2026-01").digest


# --- bad input ------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, mtd, before", [(0, 0, 0), (-5, 0, 0), (10, -1, 0), (10, 0, -1), (True, 0, 0),
                                                (10.0, 0, 0)])
def test_compute_refuses_impossible_counters(value, mtd, before):
    with pytest.raises(ValueError):
        price(plan(), value, mtd, before=before)


def test_an_unknown_category_names_the_plan_and_what_it_has():
    with pytest.raises(UnknownCategory, match=r"v1 has no rate for category 'airtime' \(it has groceries\)"):
        price(plan(), 100, category="airtime")


@pytest.mark.parametrize("build, message", [
    (lambda: PercentRate(10_001), "rate must be 0% to 100%"),
    (lambda: FixedFee(()), "at least one band"),
    (lambda: FixedFee(((1, 5),)), "first band must start from 0"),
    (lambda: FixedFee(((0, 5), (500, 20), (500, 30))), "band 3 starts from 500, not above band 2's 500"),
    (lambda: FixedFee(((0, 20), (500, 5))), "band 2's fee is less than band 1's"),
    (lambda: plan(volume_bands=((0, 1000), (10, 0))), "band 2's uplift is less than band 1's"),
    (lambda: plan(split={Level.SHOP: 6000, Level.SUB_AGENT: 2500, Level.MASTER: 1000}), "add up to 95%"),
    (lambda: plan(split={Level.SHOP: 10_000}), "a share of 0% or more for each"),
    (lambda: plan(categories={"Groceries": PercentRate(1)}), "category 'Groceries'"),
    (lambda: plan(version="two words"), "version 'two words'"),
    (lambda: PlanBook(()), "at least one plan"),
    (lambda: PlanBook((plan(), plan(day=datetime.date(2026, 2, 1)))), "version 'v1' is used twice"),
    (lambda: PlanBook((plan(), plan(version="v2"))), "both take effect on 2026-01-01"),
])
def test_plan_rules(build, message):
    with pytest.raises(ValueError, match=message):
        build()


GOOD = """\
[[plans]]
version = "2026-01"
effective_from = 2026-01-01
split = { shop = "60%", sub_agent = "25%", master = "15%" }
[plans.categories]
groceries = { rate = "3%" }
farm = { fixed = [{ from = 0, fee = 5 }, { from = 500, fee = 20 }] }
"""


def test_a_plan_without_volume_bands_has_no_uplift():
    p = plans_from_toml(GOOD).version("2026-01")
    assert p.volume_bands == ((0, 0),) and price(p, 1_000, mtd=10**9).uplift_bp == 0
    assert p.categories == {"groceries": PercentRate(300), "farm": FixedFee(((0, 5), (500, 20)))}


@pytest.mark.parametrize("old, new, message", [
    ('rate = "3%"', 'rate = "3"', 'groceries.rate: expected a percentage from "0%" to "100%"'),
    ('rate = "3%"', 'rate = 0.03', 'plans[0].categories.groceries.rate: expected a percentage'),
    ('rate = "3%"', 'rate = "3.125%"', "with at most two decimals"),
    ('rate = "3%"', 'rate = "101%"', 'plans[0].categories.groceries.rate: expected a percentage'),
    ('rate = "3%"', 'rate = "3%", fixed = []', "plans[0].categories.groceries: expected either rate"),
    ('rate = "3%"', 'rat = "3%"', 'plans[0].categories.groceries: unknown key "rat" (did you mean "rate"?)'),
    ('master = "15%"', 'master = "10%"', "plans[0]: split shares add up to 95%, not 100%"),
    ('master = "15%"', 'boss = "15%"', 'plans[0].split: unknown key "boss"'),
    ("fee = 20", "fee = 2", "plans[0].categories.farm.fixed: band 2's fee is less than band 1's"),
    ("fee = 20", "fee = -2", "plans[0].categories.farm.fixed[1].fee: expected a whole number 0 or more"),
    ("from = 500", "from = 0", "plans[0].categories.farm.fixed: band 2 starts from 0, not above band 1's 0"),
    ("from = 500", 'from = "500"', 'farm.fixed[1].from: expected a whole number 0 or more, got "500"'),
    ("effective_from = 2026-01-01", 'effective_from = "2026-01-01"', "effective_from: expected a date"),
    ('version = "2026-01"', 'version = ""', "plans[0].version: expected a version name"),
    ('version = "2026-01"\n', "", "plans[0].version: required key is missing"),
    ("groceries = {", "Groceries = {", "plans[0]: category 'Groceries'"),
    ("[[plans]]", "[[plan]]", 'unknown key "plan" (did you mean "plans"?)'),
    ('farm = { fixed = [{ from = 0, fee = 5 }, { from = 500, fee = 20 }] }', "farm = 5",
     "plans[0].categories.farm: expected a table, got 5"),
    ("split = {", "volume_bands = [{ from = 10, uplift = \"0%\" }]\nsplit = {",
     "plans[0].volume_bands: the first band must start from 0, not 10"),
    ("split = {", "volume_bands = []\nsplit = {", "plans[0].volume_bands: expected one or more tables"),
    ("split = {", "split = [", "invalid TOML"),
])
def test_config_errors_name_the_file_and_the_key(old, new, message):
    assert old in GOOD
    with pytest.raises(AgentConfigError) as caught:
        plans_from_toml(GOOD.replace(old, new, 1), "commissions.toml")
    assert str(caught.value).startswith("commissions.toml: ")
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_two_versions_on_one_day_name_the_file():
    with pytest.raises(AgentConfigError, match="commissions.toml: plans: versions '2026-01' and 'x' both"):
        plans_from_toml(GOOD + GOOD.split("[plans.categories]")[0].replace('"2026-01"', '"x"')
                        + "[plans.categories]\nfoo = { rate = \"1%\" }\n", "commissions.toml")


def test_file_problems_name_the_file(tmp_path):
    with pytest.raises(AgentConfigError, match=r"nope.toml: file not found"):
        load_plans(tmp_path / "nope.toml")
    (tmp_path / "latin1.toml").write_bytes(b"# caf\xe9\n")
    with pytest.raises(AgentConfigError, match=r"latin1.toml: not UTF-8 text \(bad byte at offset 5\)"):
        load_plans(tmp_path / "latin1.toml")
    (tmp_path / "bom.toml").write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    assert load_plans(tmp_path / "bom.toml").version("2026-01").split_bp == SPLIT
