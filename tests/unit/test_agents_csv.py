"""CSV import of agents: every bad row reported by line number; nothing imported unless all are good."""

import functools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents import Agent, ImportResult, Level, RowError, Status, import_agents, problems
from gateway.msisdn import normalize

KENYA = functools.partial(normalize, region="KE")   # what the gateway passes: its numbering plan

EXISTING = {
    "M1": Agent(code="M1", msisdn="254700000001", name="Mama Njeri", location="Nyeri", level=Level.MASTER),
    "S10": Agent(code="S10", msisdn="254700000010", name="Kamau", location="Othaya", level=Level.SUB_AGENT,
                 parent="M1"),
    "S90": Agent(code="S90", msisdn="254700000090", name="Old", location="Othaya", level=Level.SUB_AGENT,
                 parent="M1", status=Status.CLOSED),
}


def errors_of(text, existing=EXISTING):
    result = import_agents(text, KENYA, existing)
    assert result.agents == ()
    return [str(error) for error in result.errors]


def test_a_good_file_imports_every_row_in_file_order():
    text = (
        "\ufeffCode, MSISDN ,Name,Location,Level,Parent,Status\r\n"
        'a1023,0712 345 678,"Li, Shop",Othaya,shop,S20,\r\n'       # its parent is further down the file
        "\r\n"
        "S20,+254 722 000 111,Wanjiru,Karatina,Sub-Agent,m1,active\r\n"
        "A1024,254733000222,Duka la Mama,Karatina,SHOP,M1,suspended\r\n"
    )
    result = import_agents(text, KENYA, EXISTING)
    assert result.ok and result.errors == ()
    assert result.agents == (
        Agent(code="A1023", msisdn="254712345678", name="Li, Shop", location="Othaya", level=Level.SHOP,
              parent="S20"),
        Agent(code="S20", msisdn="254722000111", name="Wanjiru", location="Karatina", level=Level.SUB_AGENT,
              parent="M1"),
        Agent(code="A1024", msisdn="254733000222", name="Duka la Mama", location="Karatina", level=Level.SHOP,
              parent="M1", status=Status.SUSPENDED),
    )


def test_the_status_column_is_optional_and_bytes_are_read_as_utf8():
    text = "code,msisdn,name,location,level,parent\nA5,0712000005,Duka ya Wanjikũ,Nyeri,shop,S10\n"
    result = import_agents(text.encode("utf-8"), KENYA, EXISTING)
    assert [(a.name, a.status) for a in result.agents] == [("Duka ya Wanjikũ", Status.ACTIVE)]


BAD = """\
code,msisdn,name,location,level,parent
A2000,0712000001,Shop A,Karatina,shop,S10
A2001,0712000001,Shop B,Karatina,shop,S10
a-20,0712000003,Shop C,Karatina,shop,S10
A2003,not a phone,Shop D,Karatina,shop,S10
A2004,0712000005,Shop E,,grocer,S99
A2000,0712000006,Shop F,Karatina,shop,S10
A2006,0712000007,Shop G,Karatina,shop,A2004
S10,0712000008,Shop H,Karatina,shop,M1
A2008,0700000001,Shop I,Karatina,shop,M1
A2009,0712000010,Shop J,Karatina,shop,A2000
S30,0712000011,Sub K,Karatina,sub-agent,S10
M5,0712000012,Master L,Karatina,master,M1
A2012,0712000013,Shop M,Karatina,shop,S90
A2013,0712000014,Shop N,Karatina,shop,
A2014,0712000015,Shop O,Karatina,shop,S10,
"""


def test_a_file_with_many_bad_rows_reports_each_by_line_and_imports_nothing():
    assert errors_of(BAD) == [
        "line 3: msisdn: 254712000001 is already agent A2000's",
        "line 4: code: expected a letter then 1 to 9 letters or digits, upper case, such as A1023",
        "line 5: msisdn: not a phone number",
        "line 6: location: required",
        "line 6: level: expected shop, sub-agent or master, got 'grocer'",
        "line 6: parent: no agent S99",
        "line 7: code: A2000 is also on line 2",
        "line 8: parent: A2004 is on line 6, which has errors",
        "line 9: code: S10 already exists (use move or suspend to change it)",
        "line 10: msisdn: 254700000001 is already agent M1's",
        "line 11: parent: A2000 is a shop; a shop's parent must be a sub-agent or master",
        "line 12: parent: S10 is a sub-agent; a sub-agent's parent must be a master",
        "line 13: parent: a master has no parent",
        "line 14: parent: S90 is closed",
        "line 15: parent: a shop needs a parent (sub-agent or master)",
        "line 16: 7 cells where the header has 6",
    ]


def test_bad_status_and_missing_required_cells():
    text = ("code,msisdn,name,location,level,parent,status\n"
            "A1,0712000001,Shop A,Karatina,shop,S10,retired\n"
            ",,,,,S10,\n")
    assert errors_of(text) == [
        "line 2: status: expected active, suspended or closed",
        "line 3: code: required", "line 3: msisdn: required", "line 3: name: required",
        "line 3: location: required", "line 3: level: required",
    ]


def test_one_bad_row_among_good_ones_stops_the_whole_file():
    text = ("code,msisdn,name,location,level,parent\n"
            "A1,0712000001,Shop A,Karatina,shop,S10\n"
            "A2,0712000002,Shop B,Karatina,shop,S11\n"
            "A3,0712000003,Shop C,Karatina,shop,S10\n")
    result = import_agents(text, KENYA, EXISTING)
    assert not result.ok and result.agents == ()
    assert result.errors == (RowError(3, "parent", "no agent S11"),)


def test_line_numbers_count_the_lines_of_a_quoted_field_that_spans_several():
    text = ('code,msisdn,name,location,level,parent\n'
            'A1,0712000001,"Shop\non two lines",Karatina,shop,S10\n'
            'A2,0712000002,Shop B,Karatina,shop,S11\n')
    assert errors_of(text) == ["line 2: name: expected 1 to 60 printable characters",
                               "line 4: parent: no agent S11"]


@pytest.mark.parametrize("text, error", [
    ("", "line 1: no header row (expected: code,msisdn,name,location,level,parent,status)"),
    ("code,msisdn,name,location,level,parent,email\n", "line 1: email: unknown column (the columns are code, "
                                                        "msisdn, name, location, level, parent, status)"),
    ("code,msisdn,name,location,level\n", "line 1: missing column(s): parent"),
    ("code,code,msisdn,name,location,level,parent\n", "line 1: code: column named twice"),
    ("code,msisdn,name,location,level,parent\nA1,0712000001,Shop,Nyeri,shop\n",
     "line 2: 5 cells where the header has 6"),
    ("code,msisdn,name,location,level,parent\nA1,0712000001,\"Shop,Nyeri,shop,S10\n",
     "line 2: 3 cells where the header has 6"),
    (b"code,msisdn,name,location,level,parent\nA1,0712000001,Caf\xe9,Nyeri,shop,S10\n",
     "line 2: not UTF-8 text (save the file as CSV UTF-8)"),
])
def test_a_file_that_cannot_be_read_as_agent_rows_says_where(text, error):
    assert errors_of(text) == [error]


def test_an_import_is_all_or_nothing_by_construction():
    with pytest.raises(ValueError):
        ImportResult(agents=(EXISTING["M1"],), errors=(RowError(2, None, "bad"),))


HEADER = "code,msisdn,name,location,level,parent\n"
cells = st.sampled_from(["A1", "A2", "S10", "M1", "S90", "0712000001", "0712000002", "x", "", "shop",
                         "master", "sub-agent", '"', "é中", "\x00", " ", "\n"])
rows = st.lists(st.lists(cells, max_size=8).map(",".join), max_size=6)
files = st.one_of(st.text(max_size=100), rows.map(lambda r: HEADER + "\n".join(r)))


@settings(max_examples=300, deadline=None)
@given(files)
def test_any_text_gives_a_valid_set_of_agents_or_errors_never_a_crash(text):
    result = import_agents(text, KENYA, EXISTING)
    assert result.ok != bool(result.errors)
    assert problems({**EXISTING, **{agent.code: agent for agent in result.agents}}) == []
