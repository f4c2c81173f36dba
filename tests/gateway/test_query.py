import random
from collections.abc import Callable
from urllib.parse import quote, quote_plus, urlencode

from hypothesis import given
from hypothesis import strategies as st

from cocvm.gateway.query import decode_query

# Text that `str.encode("utf-8")` accepts: every code point except lone surrogates.
encodable_text = st.text(st.characters(blacklist_categories=("Cs",)))
# Text that can go on the wire unencoded: no character that the query syntax gives a meaning to.
raw_safe_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="&=%+#"), min_size=1
)
# Parameter names that contain no `.N` suffix, so that they decode as scalars.
scalar_names = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzABCZ_-"), min_size=1)


def indexed_query(
    name: str, elements: list[str], order: list[int], encode: Callable[[str], str]
) -> bytes:
    """Build `name.1=...&name.2=...` with the pieces in the given order, each value encoded."""
    pieces = [f"{name}.{position + 1}={encode(elements[position])}" for position in order]
    return "&".join(pieces).encode("utf-8")


def test_decode_query_empty() -> None:
    decoded = decode_query(b"")

    assert decoded.values == {}
    assert decoded.arrays == {}


def test_decode_query_scalars() -> None:
    decoded = decode_query(b"imageSource=public&pageSize=10")

    assert decoded.values == {"imageSource": "public", "pageSize": "10"}
    assert decoded.arrays == {}


def test_decode_query_ids_ordered_by_index() -> None:
    decoded = decode_query(b"ids.2=img-b&ids.3=img-c&ids.1=img-a")

    assert decoded.arrays == {"ids": ["img-a", "img-b", "img-c"]}
    assert decoded.values == {}


def test_decode_query_ids_ten_after_nine() -> None:
    pieces = [f"ids.{index}=img-{index}" for index in range(1, 12)]
    random.Random(7).shuffle(pieces)

    decoded = decode_query("&".join(pieces).encode())

    assert decoded.arrays["ids"] == [f"img-{index}" for index in range(1, 12)]


def test_decode_query_index_numeric_not_text() -> None:
    decoded = decode_query(b"ids.100=c&ids.9=a&ids.10=b")

    assert decoded.arrays["ids"] == ["a", "b", "c"]


def test_decode_query_index_leading_zeros() -> None:
    decoded = decode_query(b"ids.010=c&ids.02=b&ids.1=a")

    assert decoded.arrays["ids"] == ["a", "b", "c"]


def test_decode_query_index_past_int_digit_limit() -> None:
    # Python's int() rejects more than 4300 digits, and such a name fits in an 8 KiB request line.
    huge_index = "9" * 5000
    query = f"ids.{huge_index}=last&ids.{'0' * 4400}2=second&ids.1=first"

    decoded = decode_query(query.encode())

    assert decoded.arrays["ids"] == ["first", "second", "last"]


def test_decode_query_arrays_kept_apart() -> None:
    decoded = decode_query(b"instanceIds.1=i-1&ids.1=img-1&instanceIds.2=i-2")

    assert decoded.arrays == {"ids": ["img-1"], "instanceIds": ["i-1", "i-2"]}


def test_decode_query_plus_is_space() -> None:
    decoded = decode_query(b"imageName=CentOS+7.9+64%E4%BD%8D")

    assert decoded.values["imageName"] == "CentOS 7.9 64位"


def test_decode_query_encoded_plus_is_plus() -> None:
    decoded = decode_query(b"imageName=a%2Bb")

    assert decoded.values["imageName"] == "a+b"


def test_decode_query_percent_encoding() -> None:
    decoded = decode_query(b"imageName=CentOS%207.9%2064%E4%BD%8D%26%3D%25")

    assert decoded.values["imageName"] == "CentOS 7.9 64位&=%"


def test_decode_query_lower_case_percent_encoding() -> None:
    decoded = decode_query(b"imageName=%e4%bd%8d")

    assert decoded.values["imageName"] == "位"


def test_decode_query_raw_utf8() -> None:
    decoded = decode_query("imageName=CentOS%207.9%2064位".encode())

    assert decoded.values["imageName"] == "CentOS 7.9 64位"


def test_decode_query_raw_and_encoded_utf8_mixed() -> None:
    decoded = decode_query("imageName=数据%E4%B8%AD心".encode())

    assert decoded.values["imageName"] == "数据中心"


def test_decode_query_raw_invalid_utf8_replaced() -> None:
    decoded = decode_query(b"imageName=a\xff\xfeb&platform=CentOS")

    assert decoded.values["imageName"] == "a\ufffd\ufffdb"
    assert decoded.values["platform"] == "CentOS"


def test_decode_query_encoded_invalid_utf8_replaced() -> None:
    decoded = decode_query(b"imageName=a%FF%C3b")

    assert decoded.values["imageName"] == "a\ufffd\ufffdb"


def test_decode_query_truncated_percent_escape_kept() -> None:
    decoded = decode_query(b"imageName=100%&platform=%4")

    assert decoded.values["imageName"] == "100%"
    assert decoded.values["platform"] == "%4"


def test_decode_query_first_value_wins() -> None:
    decoded = decode_query(b"imageSource=public&imageSource=private&imageSource=shared")

    assert decoded.values["imageSource"] == "public"


def test_decode_query_first_value_wins_when_empty() -> None:
    decoded = decode_query(b"imageSource=&imageSource=public")

    assert decoded.values["imageSource"] == ""


def test_decode_query_empty_value_kept() -> None:
    decoded = decode_query(b"platform=")

    assert decoded.values == {"platform": ""}


def test_decode_query_value_with_equals_sign() -> None:
    decoded = decode_query(b"imageName=a=b=c")

    assert decoded.values["imageName"] == "a=b=c"


def test_decode_query_piece_without_equals_skipped() -> None:
    decoded = decode_query(b"offline&imageSource=public&ids.1")

    assert decoded.values == {"imageSource": "public"}
    assert decoded.arrays == {}


def test_decode_query_empty_name_skipped() -> None:
    decoded = decode_query(b"=public&=&imageSource=private")

    assert decoded.values == {"imageSource": "private"}


def test_decode_query_empty_pieces_skipped() -> None:
    decoded = decode_query(b"&&imageSource=public&&")

    assert decoded.values == {"imageSource": "public"}
    assert decoded.arrays == {}


def test_decode_query_encoded_name() -> None:
    decoded = decode_query(b"image%4Eame=x&ids%2E1=img-a")

    assert decoded.values == {"imageName": "x"}
    assert decoded.arrays == {"ids": ["img-a"]}


def test_decode_query_dotted_name_scalar() -> None:
    decoded = decode_query(b"a.b.c=1&filters.1.name=id")

    assert decoded.values == {"a.b.c": "1", "filters.1.name": "id"}
    assert decoded.arrays == {}


def test_decode_query_dotted_array_base() -> None:
    decoded = decode_query(b"filters.1.values.2=b&filters.1.values.1=a")

    assert decoded.arrays == {"filters.1.values": ["a", "b"]}


def test_decode_query_index_without_base_scalar() -> None:
    decoded = decode_query(b".1=x&ids.=y")

    assert decoded.values == {".1": "x", "ids.": "y"}
    assert decoded.arrays == {}


def test_decode_query_non_ascii_digit_index_scalar() -> None:
    # U+0661 ARABIC-INDIC DIGIT ONE passes str.isdigit() but is no index.
    decoded = decode_query("ids.\u0661=img-a".encode())

    assert decoded.values == {"ids.\u0661": "img-a"}
    assert decoded.arrays == {}


def test_decode_query_signed_index_scalar() -> None:
    decoded = decode_query(b"ids.-1=img-a&ids.%2B2=img-b")

    assert decoded.values == {"ids.-1": "img-a", "ids.+2": "img-b"}
    assert decoded.arrays == {}


def test_decode_query_scalar_and_array_same_base() -> None:
    decoded = decode_query(b"ids=img-x&ids.1=img-a")

    assert decoded.values == {"ids": "img-x"}
    assert decoded.arrays == {"ids": ["img-a"]}


@given(elements=st.lists(encodable_text, min_size=1, max_size=30), data=st.data())
def test_decode_query_quoted_ids_round_trip(elements: list[str], data: st.DataObject) -> None:
    order = data.draw(st.permutations(range(len(elements))))
    query = indexed_query("ids", elements, order, lambda value: quote(value, safe=""))

    assert decode_query(query).arrays == {"ids": elements}


@given(elements=st.lists(encodable_text, min_size=1, max_size=30), data=st.data())
def test_decode_query_form_encoded_ids_round_trip(elements: list[str], data: st.DataObject) -> None:
    order = data.draw(st.permutations(range(len(elements))))
    query = indexed_query("ids", elements, order, lambda value: quote_plus(value, safe=""))

    assert decode_query(query).arrays == {"ids": elements}


@given(elements=st.lists(raw_safe_text, min_size=1, max_size=30), data=st.data())
def test_decode_query_raw_ids_round_trip(elements: list[str], data: st.DataObject) -> None:
    order = data.draw(st.permutations(range(len(elements))))
    query = indexed_query("ids", elements, order, lambda value: value)

    assert decode_query(query).arrays == {"ids": elements}


@given(values=st.dictionaries(scalar_names, encodable_text, max_size=10))
def test_decode_query_urlencoded_scalars_round_trip(values: dict[str, str]) -> None:
    decoded = decode_query(urlencode(values).encode("utf-8"))

    assert decoded.values == values
    assert decoded.arrays == {}


@given(raw_query=st.binary(max_size=300))
def test_decode_query_any_bytes_decoded(raw_query: bytes) -> None:
    decoded = decode_query(raw_query)

    assert all(isinstance(value, str) for value in decoded.values.values())
    assert all(isinstance(element, str) for array in decoded.arrays.values() for element in array)
