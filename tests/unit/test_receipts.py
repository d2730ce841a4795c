"""receipts.py: reading delivery receipts, matching their ids, ordering their statuses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway import receipts
from gateway.receipts import Receipt, ReceiptError, fold, id_format, parse, submit_keys

# The text of SMPP 3.4 Appendix B, as real SMSCs send it (and mangle it).
CLASSIC = (b"id:0123456789 sub:001 dlvrd:001 submit date:2612021030 "
           b"done date:2612021031 stat:DELIVRD err:000 text:Jifen: your bal")


def deliver(short_message: bytes = b"", **params) -> dict:
    return dict(esm_class=0x04, data_coding=0, short_message=short_message, **params)


# -- what is a receipt ----------------------------------------------------------

@pytest.mark.parametrize("esm_class, expected", [
    (0x00, False), (0x40, False), (0x03, False),   # a member's message, with UDHI, any mode bits
    (0x04, True), (0x44, True),                    # SMSC delivery receipt (also with UDHI)
    (0x08, True), (0x10, True), (0x20, True),      # SME acks, intermediate notification
])
def test_message_type_bits_decide(esm_class, expected):
    assert receipts.is_receipt(esm_class) is expected


# -- parsing ----------------------------------------------------------------------

def test_classic_text():
    assert parse(deliver(CLASSIC)) == Receipt(("0123456789",), "DELIVRD", "000")


def test_tlvs_alone():
    receipt = parse(dict(esm_class=0x04, short_message=b"", receipted_message_id="1A2B",
                         message_state=5))
    assert receipt == Receipt(("1A2B",), "UNDELIV", None)
    assert receipt.final


def test_tlvs_win_over_the_text_and_both_ids_are_kept():
    receipt = parse(deliver(CLASSIC, receipted_message_id="75BCD15", message_state=6))
    assert receipt.message_ids == ("75BCD15", "0123456789")
    assert receipt.status == "ACCEPTD" and not receipt.final


def test_the_same_id_in_both_places_is_kept_once():
    assert parse(deliver(b"id:42 stat:DELIVRD", receipted_message_id="42")).message_ids == ("42",)


@pytest.mark.parametrize("text, expected", [
    (b"ID:99 STAT:undeliv ERR:001", Receipt(("99",), "UNDELIV", "001")),
    (b"id : 99   sub : 1  stat :  EXPIRED ", Receipt(("99",), "EXPIRED", None)),
    (b"id:99 stat:DELIVERED", Receipt(("99",), "DELIVRD", None)),
    (b"id:99 Submit_Date:2612021030 Done_date:2612021031 stat:REJECTD",
     Receipt(("99",), "REJECTD", None)),
    (b"id:99", Receipt(("99",), "UNKNOWN", None)),                  # no stat at all
    (b"id:99 stat:WHATEVER", Receipt(("99",), "UNKNOWN", None)),    # a word nobody knows
    (b"id:99 stat:ENROUTE text:stat:DELIVRD id:1", Receipt(("99",), "ENROUTE", None)),
])
def test_text_variants(text, expected):
    assert parse(deliver(text)) == expected


def test_message_payload_and_ucs2_text():
    assert parse(dict(esm_class=4, data_coding=8,
                      message_payload="id:7 stat:DELIVRD".encode("utf-16-be"))).message_ids == ("7",)


def test_text_keys_inside_the_quoted_mt_are_not_read():
    # "text:" quotes the start of our own MT; a member's words must not become an id.
    with pytest.raises(ReceiptError):
        parse(deliver(b"stat:DELIVRD text:id:123 hello"))


@pytest.mark.parametrize("params", [
    deliver(b""), deliver(b"hello there"), deliver(b"id: stat:DELIVRD"),
    deliver(b"id:\x00\x01 stat:DELIVRD"), deliver(b"id:" + b"9" * 65),
    dict(esm_class=4, short_message=None), dict(esm_class=4, receipted_message_id=""),
])
def test_no_usable_id_is_a_clean_error(params):
    with pytest.raises(ReceiptError):
        parse(params)


@given(st.binary(max_size=300), st.integers(0, 255), st.one_of(st.none(), st.integers(0, 255)),
       st.one_of(st.none(), st.text(max_size=70)))
def test_any_bytes_give_a_receipt_or_a_receipt_error(body, data_coding, state, tlv_id):
    params = dict(esm_class=4, data_coding=data_coding, short_message=body)
    if state is not None:
        params["message_state"] = state
    if tlv_id is not None:
        params["receipted_message_id"] = tlv_id
    try:
        receipt = parse(params)
    except ReceiptError:
        return
    assert receipt.status in receipts.FINAL + receipts.INTERMEDIATE
    assert receipt.message_ids and all(0 < len(i) <= 64 for i in receipt.message_ids)


@given(st.text(alphabet="0123456789abcdefABCDEF", min_size=1, max_size=20),
       st.sampled_from(receipts.FINAL + receipts.INTERMEDIATE))
def test_any_written_receipt_reads_back(message_id, stat):
    text = f"id:{message_id} sub:001 dlvrd:001 submit date:2612021030 stat:{stat} err:000 text:x"
    assert parse(deliver(text.encode())) == Receipt((message_id,), stat, "000")


# -- ids ----------------------------------------------------------------------------

@pytest.mark.parametrize("raw, folded", [
    ("0000ABCdef", "abcdef"), (" 42 ", "42"), ("0", "0"), ("000", "0"), ("", ""),
])
def test_fold(raw, folded):
    assert fold(raw) == folded


# (format, the id submit_sm_resp gave, the id the receipt gives, match?)
MATCHES = [
    ("auto", "5A3F01", "5914369", True),          # hex at submit, decimal in the receipt
    ("auto", "5914369", "5a3f01", True),          # decimal at submit, hex in the receipt
    ("auto", "0005A3F01", "5a3f01", True),        # leading zeros, case
    ("auto", "12", "12", True),
    ("hex", "5914369", "5A3F01", True),
    ("hex", "5A3F01", "5a3f01", True),
    ("hex", "5A3F01", "5914369", False),          # says hex, so 5914369 is not read as decimal
    ("decimal", "5A3F01", "5914369", True),
    ("decimal", "5914369", "5a3f01", False),
    ("as_is", "5A3F01", "5a3f01", True),
    ("as_is", "5A3F01", "5914369", False),
    ("as_is", "d3b07384-d9a0", "D3B07384-D9A0", True),
]


@pytest.mark.parametrize("name, submitted, in_receipt, matches", MATCHES)
def test_id_formats(name, submitted, in_receipt, matches):
    assert (fold(submitted) in id_format(name).keys(in_receipt)) is matches


@pytest.mark.parametrize("name, submitted, in_receipt, matches", MATCHES)
def test_an_early_receipt_is_found_from_the_submit_side(name, submitted, in_receipt, matches):
    # What delivery.record_submitted relies on: every receipt id that would
    # match a submit id is among submit_keys of it.
    if matches:
        assert fold(in_receipt) in submit_keys(submitted)


def test_the_exact_reading_comes_first():
    assert id_format("auto").keys("10")[0] == "10"


@given(st.integers(0, 2**64), st.sampled_from(["hex", "decimal"]), st.booleans())
def test_auto_matches_any_base_and_any_case(number, receipt_base, upper):
    submitted = format(number, "X" if upper else "x") if receipt_base == "decimal" else str(number)
    in_receipt = str(number) if receipt_base == "decimal" else format(number, "x")
    assert fold(submitted) in id_format("auto").keys(in_receipt)
    assert fold(in_receipt) in submit_keys(submitted)


# -- statuses -------------------------------------------------------------------------

@pytest.mark.parametrize("new, current, expected", [
    ("ENROUTE", None, True), ("DELIVRD", "ENROUTE", True), ("ACCEPTD", "ENROUTE", True),
    ("ENROUTE", "ACCEPTD", False), ("ENROUTE", "DELIVRD", False), ("UNKNOWN", "UNDELIV", False),
    ("DELIVRD", "DELIVRD", False), ("UNDELIV", "DELIVRD", False), (None, "ENROUTE", False),
])
def test_supersedes(new, current, expected):
    assert receipts.supersedes(new, current) is expected


@pytest.mark.parametrize("statuses, expected", [
    ([None, None], None),
    (["DELIVRD", None, None], "DELIVRD"),          # one receipt for the whole message
    (["DELIVRD", "ENROUTE"], "DELIVRD"),
    (["DELIVRD", "UNDELIV"], "UNDELIV"),           # one failed part fails the message
    (["ENROUTE", "ACCEPTD"], "ACCEPTD"),
    (["EXPIRED", "REJECTD"], "EXPIRED"),
])
def test_message_status(statuses, expected):
    assert receipts.message_status(statuses) == expected


@given(st.lists(st.sampled_from(receipts.FINAL + receipts.INTERMEDIATE), max_size=8))
def test_a_segment_never_leaves_a_final_status(arrivals):
    status = None
    for new in arrivals:
        before = status
        if receipts.supersedes(new, status):
            status = new
        if before in receipts.FINAL:
            assert status == before
