"""reassembly.py: which part a deliver_sm is, and the text once all parts are in."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.reassembly import Part, StoredPart, assemble, missing, part_of
from gateway.smpp import text as sms_text

UDHI = 0x40


def h(text: str) -> bytes:
    return bytes.fromhex(text.split("#")[0].replace(" ", "").replace("\n", ""))


# -- part_of: byte fixtures -------------------------------------------------------

def test_udh_8bit_reference():
    short_message = h("05 00 03 2A 03 02") + b"second"
    assert part_of(dict(esm_class=UDHI, short_message=short_message)) == (
        Part(reference=0x2A, total=3, sequence=2), b"second")


def test_udh_16bit_reference():
    short_message = h("06 08 04 12 34 02 01") + b"first"
    assert part_of(dict(esm_class=UDHI, short_message=short_message)) == (
        Part(reference=0x1234, total=2, sequence=1), b"first")


def test_udh_with_other_elements_around_the_concat_one():
    # A port-addressing IE (0x05) before the concat IE: skipped, not misread.
    short_message = h("0B 05 04 0B 84 23 F0 00 03 07 02 02") + b"tail"
    assert part_of(dict(esm_class=UDHI | 0x03, short_message=short_message)) == (
        Part(7, 2, 2), b"tail")


def test_sar_tlvs():
    params = dict(esm_class=0, short_message=b"abc", sar_msg_ref_num=0xBEEF,
                  sar_total_segments=4, sar_segment_seqnum=4)
    assert part_of(params) == (Part(0xBEEF, 4, 4), b"abc")


def test_message_payload_carries_the_body_too():
    params = dict(esm_class=0, message_payload=b"long body", sar_msg_ref_num=1,
                  sar_total_segments=2, sar_segment_seqnum=1)
    assert part_of(params) == (Part(1, 2, 1), b"long body")


def test_udh_wins_over_sar():
    params = dict(esm_class=UDHI, short_message=h("05 00 03 01 02 01") + b"x",
                  sar_msg_ref_num=9, sar_total_segments=3, sar_segment_seqnum=3)
    assert part_of(params)[0] == Part(1, 2, 1)


@pytest.mark.parametrize("params", [
    dict(esm_class=0, short_message=b"BAL"),
    dict(esm_class=UDHI, short_message=h("05 00 03 01 01 01") + b"BAL"),   # "1 of 1"
    dict(esm_class=UDHI, short_message=h("05 00 03 01 00 01") + b"BAL"),   # total 0: ignored
    dict(esm_class=UDHI, short_message=h("05 00 03 01 02 03") + b"BAL"),   # 3 of 2: ignored
    dict(esm_class=0, short_message=b"BAL", sar_msg_ref_num=1, sar_total_segments=2,
         sar_segment_seqnum=0),
    dict(esm_class=0, short_message=b"BAL", sar_msg_ref_num=1, sar_total_segments=2),
])
def test_whole_messages(params):
    assert part_of(params) == (None, b"BAL")


@pytest.mark.parametrize("short_message", [b"", h("09 00 03 01 02 01") + b"x", h("03 00 03 01")])
def test_a_udh_that_does_not_fit_is_a_text_error(short_message):
    with pytest.raises(sms_text.TextError):
        part_of(dict(esm_class=UDHI, short_message=short_message))


@given(st.binary(max_size=200), st.integers(0, 255),
       st.one_of(st.none(), st.tuples(st.integers(0, 0xFFFF), st.integers(0, 255),
                                      st.integers(0, 255))))
def test_any_bytes_give_a_part_or_a_text_error(body, esm_class, sar):
    params = dict(esm_class=esm_class, short_message=body)
    if sar is not None:
        params.update(sar_msg_ref_num=sar[0], sar_total_segments=sar[1],
                      sar_segment_seqnum=sar[2])
    try:
        part, rest = part_of(params)
    except sms_text.TextError:
        return
    assert isinstance(rest, bytes)
    if part is not None:
        assert 1 <= part.sequence <= part.total and part.total >= 2


# -- assemble ------------------------------------------------------------------------

def stored(*bodies, data_coding=0):
    return [StoredPart(n, data_coding, body) for n, body in enumerate(bodies, 1)]


def test_parts_are_joined_in_sequence_order():
    parts = stored(b"Hello ", b"dear ", b"world")
    assert assemble(reversed(parts)) == "Hello dear world"


def test_a_gsm_escape_split_across_parts_survives():
    # "€" is 0x1B 0x65; the handset put the escape at the end of part 1.
    assert assemble(stored(b"Price 5\x1b", b"\x65 only")) == "Price 5€ only"


def test_a_surrogate_pair_split_across_parts_survives():
    payload = "积分😀".encode("utf-16-be")
    assert assemble(stored(payload[:6], payload[6:], data_coding=8)) == "积分😀"


def test_mixed_codings_are_decoded_part_by_part():
    parts = [StoredPart(1, 0, b"BAL "), StoredPart(2, 8, "余额".encode("utf-16-be"))]
    assert assemble(parts) == "BAL 余额"


def test_binary_parts_are_a_text_error():
    with pytest.raises(sms_text.TextError):
        assemble(stored(b"\x00\x01", b"\x02", data_coding=4))


def test_partial_keeps_what_can_be_read():
    parts = [StoredPart(1, 0, b"Hello "), StoredPart(3, 4, b"\xff"), StoredPart(4, 0, b"end")]
    assert assemble(parts, partial=True) == "Hello end"


def test_a_repeated_sequence_counts_once():
    assert assemble([StoredPart(1, 0, b"a"), StoredPart(1, 0, b"a"), StoredPart(2, 0, b"b")]) == "ab"


def test_missing():
    assert missing([3, 1], 4) == [2, 4]
    assert missing([1, 2], 2) == []


@given(st.text(min_size=1, max_size=600), st.randoms(use_true_random=False))
def test_what_text_split_makes_reassembles_in_any_order(message, rnd):
    data_coding, parts = sms_text.split(message, reference=7)
    if len(parts) == 1:
        return
    pieces = [part_of(dict(esm_class=UDHI, short_message=p, data_coding=data_coding))
              for p in parts]
    rnd.shuffle(pieces)
    assert {part.total for part, _ in pieces} == {len(parts)}
    joined = assemble([StoredPart(part.sequence, data_coding, body) for part, body in pieces])
    assert joined == message
