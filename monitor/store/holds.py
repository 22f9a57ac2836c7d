"""Legal holds: the one place a clip's hold flag changes, always together with its custody entry.

Used by the clip page's hold buttons and by cases, whose clips are held while the case is open.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import CursorResult, update
from sqlalchemy.orm import Session

from evidence.actions import Action
from evidence.store import EvidenceStore
from monitor.store.models import Clip


def change_hold(session: Session, evidence: EvidenceStore, clip: Clip, *, hold: bool, actor: str,
                details: Mapping[str, Any]) -> bool:
    """Set or release the hold and log it; False (nothing changed) unless the clip is sealed and
    its flag was the other way. One conditional update, so a hold can never land on a clip
    retention is already deleting; no entry, no change."""
    changed = cast(CursorResult[Any], session.execute(
        update(Clip).where(Clip.id == clip.id, Clip.status == "sealed", Clip.legal_hold.is_(not hold))
        .values(legal_hold=hold)
    )).rowcount
    if not changed:
        session.rollback()
        return False
    session.commit()
    try:
        evidence.append(Action.HOLD_SET if hold else Action.HOLD_RELEASED, actor=actor, clip_id=clip.id,
                        object_sha256=clip.sha256, details=dict(details))
    except Exception:
        session.execute(update(Clip).where(Clip.id == clip.id).values(legal_hold=not hold))
        session.commit()
        raise
    session.refresh(clip)
    return True
