"""Tests for gateway.smpp.text: byte fixtures checked by hand against
3GPP TS 23.038 / 23.040, then properties over arbitrary text and bytes."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.smpp.text import (
    DC_IA5,
    DC_LATIN1,
    DC_SMSC_DEFAULT,
    DC_UCS2,
    SEGMENT_PART,
    SEGMENT_SINGLE,
    Concat,
    Encoded,
    TextError,
    count_segments,
    decode,
    encode,
    gsm7_length,
    is_gsm7,
    split,
    strip_udh,
)

FAST = settings(max_examples=200, deadline=None)

# TS 23.038 §6.2.1, row by row as printed (septets 0x00-0x7F); "\x1b" is ESC.
SPEC_DEFAULT_ALPHABET = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
SPEC_EXTENSION = {
    "\f": b"\x1b\x0a", "^": b"\x1b\x14", "{": b"\x1b\x28", "}": b"\x1b\x29",
    "\\": b"\x1b\x2f", "[": b"\x1b\x3c", "~": b"\x1b\x3d", "]": b"\x1b\x3e",
    "|": b"\x1b\x40", "€": b"\x1b\x65",
}


# --- encode -----------------------------------------------------------------

@pytest.mark.parametrize(
    "text, expected",
    [
        ("BAL", Encoded(DC_SMSC_DEFAULT, b"\x42\x41\x4c", 3)),
        ("Balance 1,350 pts", Encoded(DC_SMSC_DEFAULT, b"Balance 1,350 pts", 17)),
        ("€[]", Encoded(DC_SMSC_DEFAULT, b"\x1b\x65\x1b\x3c\x1b\x3e", 6)),
        ("@$_", Encoded(DC_SMSC_DEFAULT, b"\x00\x02\x11", 3)),
        ("余额", Encoded(DC_UCS2, b"\x4f\x59\x98\x9d", 2)),
        ("😀", Encoded(DC_UCS2, b"\xd8\x3d\xde\x00", 2)),
        ("OK 😀", Encoded(DC_UCS2, b"\x00O\x00K\x00 \xd8\x3d\xde\x00", 5)),
        ("", Encoded(DC_SMSC_DEFAULT, b"", 0)),
    ],
)
def test_encode_fixtures(text, expected):
    assert encode(text) == expected


def test_every_default_alphabet_char_encodes_to_its_septet():
    for septet, char in enumerate(SPEC_DEFAULT_ALPHABET):
        if septet != 0x1B:
            assert encode(char) == Encoded(DC_SMSC_DEFAULT, bytes([septet]), 1), hex(septet)


def test_every_extension_char_encodes_to_escape_pair():
    for char, pair in SPEC_EXTENSION.items():
        assert encode(char) == Encoded(DC_SMSC_DEFAULT, pair, 2), repr(char)


# Backtick, lower-case c-cedilla and ESC itself are the usual traps.
@pytest.mark.parametrize("char", ["`", "ç", "\t", "\x1b", "\x00", "á", "\u0308", "ÿ"])
def test_chars_outside_gsm7_fall_back_to_ucs2(char):
    assert not is_gsm7(char)
    assert encode(char).data_coding == DC_UCS2


def test_lone_surrogate_cannot_be_encoded():
    with pytest.raises(TextError):
        encode("a\ud800b")


def test_gsm7_length_counts_extension_chars_twice():
    assert gsm7_length("BAL") == 3
    assert gsm7_length("€5 {x}") == 9  # € { } two each
    assert gsm7_length("") == 0
    with pytest.raises(TextError):
        gsm7_length("余额")


def test_is_gsm7():
    assert is_gsm7("Balance 1,350 pts €")
    assert is_gsm7("")
    assert not is_gsm7("余额")
    assert not is_gsm7("😀")


# --- decode -----------------------------------------------------------------

@pytest.mark.parametrize(
    "payload, data_coding, default_alphabet, expected",
    [
        (b"\x00\x01\x02\x24\x11", DC_SMSC_DEFAULT, "gsm7", "@£$¤_"),
        (b"\x1b\x65\x1b\x3c\x1b\x3e", DC_SMSC_DEFAULT, "gsm7", "€[]"),
        (b"caf\xe9", DC_SMSC_DEFAULT, "latin1", "café"),
        (b"BAL", DC_SMSC_DEFAULT, "ascii", "BAL"),
        (b"BAL\x80", DC_SMSC_DEFAULT, "ascii", "BAL\ufffd"),
        (b"BAL 1", DC_IA5, "gsm7", "BAL 1"),
        (b"\xa3\xe9", DC_LATIN1, "gsm7", "£é"),
        (b"\x4f\x59\x98\x9d", DC_UCS2, "gsm7", "余额"),
        (b"\xd8\x3d\xde\x00", DC_UCS2, "gsm7", "😀"),
        (b"BAL", 0xF0, "latin1", "BAL"),  # 0xF0 group names GSM-7 itself
        (b"\x00", 0xF1, "gsm7", "@"),
        (b"\x00\x42", 0x18, "gsm7", "B"),  # general group, UCS-2, class 0
        (b"\x00", 0x11, "gsm7", "@"),  # general group, GSM-7, class 1
        (b"\x00\x42", 0xE0, "gsm7", "B"),  # message waiting, UCS-2
        (b"\x00", 0xC8, "gsm7", "@"),  # message waiting, GSM-7
    ],
)
def test_decode_fixtures(payload, data_coding, default_alphabet, expected):
    assert decode(payload, data_coding, default_alphabet) == expected


def test_decode_full_default_alphabet():
    septets = bytes(b for b in range(0x80) if b != 0x1B)
    assert decode(septets, DC_SMSC_DEFAULT) == SPEC_DEFAULT_ALPHABET.replace("\x1b", "")


@pytest.mark.parametrize(
    "payload, expected",
    [
        (b"A\x80B\xff", "A?B?"),  # outside the 7-bit range
        (b"AB\x1b", "AB"),  # lone trailing escape dropped
        (b"\x1b\x41", "A"),  # unknown extension code shows the default char
        (b"\x1b\x1b", " "),  # reserved for a further table: a space
        (b"\x1b\x90", "?"),
    ],
)
def test_decode_gsm7_leniency(payload, expected):
    assert decode(payload, DC_SMSC_DEFAULT) == expected


@pytest.mark.parametrize(
    "payload, expected",
    [
        (b"\x00A\x00", "A"),  # odd trailing byte dropped
        (b"\xd8\x3d\x00A", "\ufffdA"),  # high surrogate without its low half
        (b"\xde\x00", "\ufffd"),  # lone low surrogate
        (b"", ""),
    ],
)
def test_decode_ucs2_leniency(payload, expected):
    assert decode(payload, DC_UCS2) == expected


@pytest.mark.parametrize("data_coding", [0x02, 0x04, 0xF4, 0xF5, 0xF6, 0xF7, 0x15, 0x44])
def test_binary_data_coding_is_refused(data_coding):
    with pytest.raises(TextError, match="binary message"):
        decode(b"\x01\x02", data_coding)


@pytest.mark.parametrize("data_coding", [0x05, 0x06, 0x09, 0x0E, 0x0F, 0x20, 0x3F, 0x80, 0xBF, 0x1C, -1, 256])
def test_other_data_codings_are_refused(data_coding):
    with pytest.raises(TextError):
        decode(b"BAL", data_coding)


def test_unknown_default_alphabet_is_refused():
    with pytest.raises(TextError):
        decode(b"BAL", DC_SMSC_DEFAULT, "ebcdic")


# --- split and count_segments ------------------------------------------------

def test_segment_sizes():
    assert SEGMENT_SINGLE == {DC_SMSC_DEFAULT: 160, DC_UCS2: 70}
    assert SEGMENT_PART == {DC_SMSC_DEFAULT: 153, DC_UCS2: 67}


def test_short_text_is_one_part_without_udh():
    assert split("BAL", 7) == (DC_SMSC_DEFAULT, [b"BAL"])
    assert split("余额", 7) == (DC_UCS2, [b"\x4f\x59\x98\x9d"])
    assert split("", 7) == (DC_SMSC_DEFAULT, [b""])


def test_exactly_full_single_sms_is_not_split():
    assert split("a" * 160, 1) == (DC_SMSC_DEFAULT, [b"a" * 160])
    assert split("余" * 70, 1) == (DC_UCS2, [b"\x4f\x59" * 70])
    assert count_segments("a" * 160) == 1
    assert count_segments("a" * 161) == 2
    assert count_segments("€" * 80) == 1
    assert count_segments("€" * 81) == 2


def test_split_200_char_gsm_text():
    text = ("0123456789" * 20)
    data_coding, parts = split(text, 0x1234)  # only the low byte is sent
    assert data_coding == DC_SMSC_DEFAULT
    assert parts == [
        b"\x05\x00\x03\x34\x02\x01" + text[:153].encode("ascii"),
        b"\x05\x00\x03\x34\x02\x02" + text[153:].encode("ascii"),
    ]
    assert [len(p) for p in parts] == [159, 53]


def test_split_100_char_chinese_text():
    data_coding, parts = split("余" * 100, 0xAB)
    assert data_coding == DC_UCS2
    assert parts == [
        b"\x05\x00\x03\xab\x02\x01" + b"\x4f\x59" * 67,
        b"\x05\x00\x03\xab\x02\x02" + b"\x4f\x59" * 33,
    ]


def test_extension_pair_at_153_boundary_moves_to_next_part():
    text = "a" * 152 + "€" + "b" * 10
    _, parts = split(text, 1)
    assert parts == [
        b"\x05\x00\x03\x01\x02\x01" + b"a" * 152,
        b"\x05\x00\x03\x01\x02\x02" + b"\x1b\x65" + b"b" * 10,
    ]


def test_extension_pair_that_fits_stays_in_part():
    _, parts = split("a" * 151 + "€" + "b" * 10, 1)
    assert parts[0] == b"\x05\x00\x03\x01\x02\x01" + b"a" * 151 + b"\x1b\x65"


def test_surrogate_pair_at_67_boundary_moves_to_next_part():
    text = "a" * 66 + "😀" + "b" * 10
    data_coding, parts = split(text, 2)
    assert data_coding == DC_UCS2
    assert parts == [
        b"\x05\x00\x03\x02\x02\x01" + b"\x00a" * 66,
        b"\x05\x00\x03\x02\x02\x02" + b"\xd8\x3d\xde\x00" + b"\x00b" * 10,
    ]


def test_too_many_parts_is_refused_but_still_counted():
    text = "a" * (153 * 255 + 1)
    with pytest.raises(TextError):
        split(text, 0)
    assert count_segments(text) == 256
    assert len(split("a" * (153 * 255), 0)[1]) == 255


# --- strip_udh ----------------------------------------------------------------

def test_strip_udh_8bit_reference():
    message = b"\x05\x00\x03\x34\x02\x01hello"
    assert strip_udh(message) == (Concat(0x34, 2, 1), b"hello")


def test_strip_udh_16bit_reference():
    message = b"\x06\x08\x04\x12\x34\x03\x02hello"
    assert strip_udh(message) == (Concat(0x1234, 3, 2), b"hello")


def test_strip_udh_without_concat_ie():
    # IEI 0x0A (text formatting, 3 octets) only.
    assert strip_udh(b"\x05\x0a\x03\x00\x05\x01hi") == (None, b"hi")
    assert strip_udh(b"\x00hi") == (None, b"hi")


def test_strip_udh_concat_among_other_ies():
    message = b"\x0a\x0a\x03\x00\x05\x01\x00\x03\x07\x02\x02body"
    assert strip_udh(message) == (Concat(7, 2, 2), b"body")


@pytest.mark.parametrize(
    "message",
    [
        b"\x05\x00\x03\x07\x00\x01hi",  # total 0
        b"\x05\x00\x03\x07\x02\x00hi",  # sequence 0
        b"\x05\x00\x03\x07\x02\x03hi",  # sequence beyond total
    ],
)
def test_strip_udh_ignores_invalid_concat_values(message):
    assert strip_udh(message) == (None, b"hi")


@pytest.mark.parametrize(
    "message",
    [
        b"",  # no length byte
        b"\x05\x00\x03\x07",  # UDH length beyond message
        b"\x01\x00",  # IE header truncated
        b"\x03\x00\x03\x07hi",  # IE data beyond UDH
        b"\x04\x00\x02\x07\x01hi",  # concat IE too short
        b"\x05\x08\x03\x12\x34\x03hi",  # 16-bit concat IE with 3 octets
    ],
)
def test_strip_udh_malformed(message):
    with pytest.raises(TextError):
        strip_udh(message)


def test_split_parts_carry_parseable_udh():
    _, parts = split("x" * 200, 0x99)
    assert [strip_udh(p)[0] for p in parts] == [Concat(0x99, 2, 1), Concat(0x99, 2, 2)]


# --- properties ---------------------------------------------------------------

gsm_text = st.text(alphabet=st.sampled_from(SPEC_DEFAULT_ALPHABET.replace("\x1b", "") + "".join(SPEC_EXTENSION)))
any_text = st.one_of(st.text(), gsm_text, st.text(alphabet=st.characters(min_codepoint=0x1F300, max_codepoint=0x1F64F)))


@FAST
@given(any_text)
def test_decode_inverts_encode(text):
    encoded = encode(text)
    assert decode(encoded.payload, encoded.data_coding) == text


@FAST
@given(gsm_text)
def test_gsm_text_stays_gsm7(text):
    encoded = encode(text)
    assert encoded.data_coding == DC_SMSC_DEFAULT
    assert encoded.units == gsm7_length(text) == len(encoded.payload)


@FAST
@given(st.binary(max_size=300), st.integers(min_value=0, max_value=255),
       st.sampled_from(["gsm7", "latin1", "ascii"]))
def test_decode_returns_str_or_raises_text_error(payload, data_coding, default_alphabet):
    try:
        assert isinstance(decode(payload, data_coding, default_alphabet), str)
    except TextError:
        pass


@FAST
@given(st.binary(max_size=40))
def test_strip_udh_returns_or_raises_text_error(message):
    try:
        concat, body = strip_udh(message)
    except TextError:
        return
    assert concat is None or 1 <= concat.sequence <= concat.total
    assert message.endswith(body)


def _reassemble(data_coding, parts):
    if len(parts) == 1:
        return decode(parts[0], data_coding)
    bodies = []
    for expected_sequence, part in enumerate(parts, 1):
        concat, body = strip_udh(part)
        assert concat.sequence == expected_sequence and concat.total == len(parts)
        bodies.append(body)
    return "".join(decode(body, data_coding) for body in bodies)


@FAST
@given(st.one_of(any_text, st.text(min_size=60, max_size=400), gsm_text.map(lambda t: t * 4)),
       st.integers(min_value=0, max_value=0xFFFF))
def test_split_parts_reassemble(text, reference):
    data_coding, parts = split(text, reference)
    assert _reassemble(data_coding, parts) == text
    assert len(parts) == count_segments(text)
    limit = SEGMENT_SINGLE if len(parts) == 1 else SEGMENT_PART
    width = 2 if data_coding == DC_UCS2 else 1
    header = 0 if len(parts) == 1 else 6
    assert all(len(p) - header <= limit[data_coding] * width for p in parts)
