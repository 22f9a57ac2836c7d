"""The one serializer for everything that is hashed or signed: RFC 8785 (JCS) JSON."""

from __future__ import annotations

from typing import Any

import rfc8785


def canonical_json(value: Any) -> bytes:
    """RFC 8785 canonical bytes of ``value`` (keys sorted, no whitespace, ECMAScript numbers)."""
    return rfc8785.dumps(value)
