"""The one serializer for everything that is hashed or signed: RFC 8785 (JCS) JSON."""

from __future__ import annotations

import json
from typing import Any

import rfc8785

SAFE_INTEGER = 2**53 - 1


def canonical_json(value: Any) -> bytes:
    """RFC 8785 canonical bytes of ``value`` (keys sorted, no whitespace, ECMAScript numbers)."""
    return rfc8785.dumps(value)


def parse_canonical(text: str | bytes, **options: Any) -> Any:
    """Parse JSON so that canonicalising it again gives the same bytes.

    JCS numbers are IEEE doubles: a large float such as 1e16 is written as the digits
    ``10000000000000000``, which plain ``json`` reads back as an int too big for JCS. Integers
    beyond the exactly representable range are therefore read as the floats they were.
    """
    return json.loads(text, parse_int=_jcs_integer, **options)


def _jcs_integer(digits: str) -> int | float:
    value = int(digits)
    return value if -SAFE_INTEGER <= value <= SAFE_INTEGER else float(digits)
