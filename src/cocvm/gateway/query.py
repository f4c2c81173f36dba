"""Decoding of query strings the way JD Cloud's clients write them.

Clients flatten arrays into 1-based indexed names (`ids.1=a&ids.2=b`), so an array is ordered by
the number after the dot, not by the position of the pair or how the number sorts as text (`ids.10`
comes after `ids.9`). Values may arrive percent-encoded or as raw UTF-8 bytes. JD Cloud's Python SDK
percent-encodes them but leaves `&`, `=` and `?` inside a value unescaped.
Like `application/x-www-form-urlencoded`, `+` means a space.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote_plus


@dataclass(frozen=True, slots=True)
class DecodedQuery:
    """A query string split into scalar parameters and indexed arrays."""

    values: dict[str, str] = field(default_factory=dict)
    """Scalar parameters by name. When a name repeats, the first value wins."""

    arrays: dict[str, list[str]] = field(default_factory=dict)
    """Arrays by base name (`ids` for `ids.N`), their elements ordered by index."""


def decode_query(raw_query: bytes) -> DecodedQuery:
    """Decode a raw query string into scalars and arrays.

    Pieces without `=` and pieces with an empty name are skipped. Bytes that are not valid UTF-8 are
    replaced with U+FFFD rather than rejected, so a value can never crash the decoder; such a value
    then matches nothing.
    """
    text = raw_query.decode("utf-8", errors="replace")
    values: dict[str, str] = {}
    indexed: dict[str, list[tuple[tuple[int, str], str]]] = {}

    for piece in text.split("&"):
        name_part, separator, value_part = piece.partition("=")
        if not separator:
            continue
        name = unquote_plus(name_part)
        if not name:
            continue
        value = unquote_plus(value_part)

        base, dot, index_text = name.rpartition(".")
        if dot and base and index_text.isdigit() and index_text.isascii():
            indexed.setdefault(base, []).append((_index_sort_key(index_text), value))
        else:
            values.setdefault(name, value)

    arrays = {
        base: [value for _, value in sorted(elements, key=lambda element: element[0])]
        for base, elements in indexed.items()
    }
    return DecodedQuery(values=values, arrays=arrays)


def _index_sort_key(index_text: str) -> tuple[int, str]:
    # Orders ASCII digit strings by numeric value without int(), because int() raises ValueError
    # past 4300 digits and an 8 KiB request line has room for a longer index.
    digits = index_text.lstrip("0")
    return len(digits), digits
