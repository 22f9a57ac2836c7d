"""Zero-copy access to decoded frame planes."""

from __future__ import annotations

import av
import numpy as np


def plane_view(plane: av.video.plane.VideoPlane) -> np.ndarray:
    """A writable ``(height, width)`` view of one 8-bit plane, skipping the line padding."""
    rows = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)  # type: ignore[call-overload]  # numpy's 3.11 stubs omit __buffer__ types
    return rows[: plane.height, : plane.width]
