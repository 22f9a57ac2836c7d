"""Parameters checked at the edge, before a handler or the database sees them.

Row ids are SQL integers: a number the database cannot hold is refused with 422 here rather
than failing in the driver (a 500).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

MAX_ID = 2**63 - 1  # the largest signed 64-bit integer: SQLite's and PostgreSQL's BIGINT

RowId = Annotated[int, Path(ge=1, le=MAX_ID, description="a row id (1 to 2^63-1)")]
OptionalRowId = Annotated[int | None, Query(ge=1, le=MAX_ID, description="a row id (1 to 2^63-1)")]
