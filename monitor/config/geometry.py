"""Polygon rules shared by the config file and the zone editor."""

from __future__ import annotations

Point = tuple[float, float]


def _orientation(p: Point, q: Point, r: Point) -> int:
    value = (q[1] - p[1]) * (r[0] - q[0]) - (q[0] - p[0]) * (r[1] - q[1])
    if abs(value) < 1e-12:
        return 0
    return 1 if value > 0 else 2


def _on_segment(p: Point, q: Point, r: Point) -> bool:
    return min(p[0], r[0]) <= q[0] <= max(p[0], r[0]) and min(p[1], r[1]) <= q[1] <= max(p[1], r[1])


def segments_intersect(p1: Point, q1: Point, p2: Point, q2: Point) -> bool:
    """True when the closed segments p1-q1 and p2-q2 share a point."""
    o1, o2 = _orientation(p1, q1, p2), _orientation(p1, q1, q2)
    o3, o4 = _orientation(p2, q2, p1), _orientation(p2, q2, q1)
    if o1 != o2 and o3 != o4:
        return True
    return (
        (o1 == 0 and _on_segment(p1, p2, q1))
        or (o2 == 0 and _on_segment(p1, q2, q1))
        or (o3 == 0 and _on_segment(p2, p1, q2))
        or (o4 == 0 and _on_segment(p2, q1, q2))
    )


def polygon_area(points: list[Point]) -> float:
    """Unsigned shoelace area, in squared frame fractions."""
    total = 0.0
    for i, (x1, y1) in enumerate(points):
        x2, y2 = points[(i + 1) % len(points)]
        total += x1 * y2 - x2 * y1
    return abs(total) / 2.0


def polygon_problem(points: list[Point]) -> str | None:
    """Describe why ``points`` is not a usable zone polygon, or return None when it is."""
    if len(points) < 3:
        return f"a polygon needs at least 3 points, got {len(points)}"
    for index, (x, y) in enumerate(points):
        if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
            return f"point {index} ({x}, {y}) is outside [0, 1] (points are fractions of width, height)"
    n = len(points)
    for i in range(n):
        a1, a2 = points[i], points[(i + 1) % n]
        if a1 == a2:
            return f"points {i} and {(i + 1) % n} are the same"
        for j in range(i + 1, n):
            if j == i or (j + 1) % n == i or j == (i + 1) % n:
                continue  # adjacent edges share a vertex by construction
            b1, b2 = points[j], points[(j + 1) % n]
            if segments_intersect(a1, a2, b1, b2):
                return f"edges {i}-{(i + 1) % n} and {j}-{(j + 1) % n} cross (the polygon intersects itself)"
    if polygon_area(points) < 1e-6:
        return "the polygon has no area"
    return None
