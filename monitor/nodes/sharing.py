"""Which cameras one node should take or let go, given who holds what: a pure decision.

A camera pinned with ``node:`` goes to that node only. The others are shared out evenly: a
node takes free cameras up to its share (the unpinned cameras over the live nodes, rounded up),
and a node holding more than its share while another live node holds less lets one go per
heartbeat, so a node that joins gets cameras without a storm of moves.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from monitor.config import Camera
from monitor.nodes.lease_book import Holder


@dataclass(frozen=True)
class Moves:
    take: list[str]
    release: list[str]


def plan_moves(
    cameras: list[Camera], *, me: str, held: set[str], holders: dict[str, Holder],
    live_nodes: list[str], now: datetime,
) -> Moves:
    """The cameras ``me`` should try to take, and those it should stop and let go."""
    enabled = {c.id: c for c in cameras if c.enabled}
    release = sorted(c for c in held if c not in enabled or enabled[c].node not in (None, me))
    take = sorted(c.id for c in enabled.values()
                  if c.node == me and c.id not in held and _free(holders.get(c.id), now, me))
    shared = sorted(c.id for c in enabled.values() if c.node is None)
    nodes = set(live_nodes) | {me}
    share = math.ceil(len(shared) / len(nodes)) if shared else 0
    counts = Counter(h.node for cid, h in holders.items()
                     if cid in shared and not h.released and h.expires_at > now and h.node in nodes)
    counts[me] = len(held & set(shared))
    free = [cid for cid in shared if cid not in held and _free(holders.get(cid), now, me)]
    take += free[: max(0, share - counts[me])]
    if counts[me] > share and any(counts[n] < share for n in nodes if n != me):
        release.append(max(held & set(shared)))
    return Moves(take, release)


def _free(holder: Holder | None, now: datetime, me: str) -> bool:
    return holder is None or holder.free(now, me)
