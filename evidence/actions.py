"""What can happen to a clip (or to the site) that the custody log records."""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    SEALED = "sealed"
    VIEWED = "viewed"
    DOWNLOADED = "downloaded"
    EXPORTED = "exported"
    VERIFIED = "verified"
    HOLD_SET = "hold_set"
    HOLD_RELEASED = "hold_released"
    DELETED_BY_RETENTION = "deleted_by_retention"
    QUARANTINED = "quarantined"
    KEY_ROTATED = "key_rotated"
    CONFIG_CHANGED = "config_changed"
    STORED = "stored"
    """The clip's bytes are in the site's object store under Object Lock: the entry names the
    bucket, object key, version id and the date until which nobody can delete that version."""
    RECOVERED = "recovered"
    """A seal of a clip left open by a crash: the supervisor saw it opened and hashed what was
    on disk, but nobody closed it, so it may end early and its metadata is partly recovered."""
    # Accounts of the dashboard (no clip): who was given access, and who changed it.
    USER_ADDED = "user_added"
    USER_CHANGED = "user_changed"
    PASSWORD_RESET = "password_reset"
    PASSWORD_CHANGED = "password_changed"
    TOKEN_CREATED = "token_created"
    TOKEN_REVOKED = "token_revoked"
    # The zone editor's picture: only privacy zones are masked, so people outside the hotspots
    # are visible. Every view is logged; the picture itself is never stored.
    EDITOR_FRAME_VIEWED = "editor_frame_viewed"
    CUSTODIANS_SET = "custodians_set"
    UNMASK_REQUESTED = "unmask_requested"
    UNMASK_APPROVED = "unmask_approved"
    UNMASK_DISCLOSED = "unmask_disclosed"

    # Investigations: a case's changes, its report and its disclosure (details name the case).
    CASE_OPENED = "case_opened"
    CASE_CHANGED = "case_changed"
    CASE_CLIP_ADDED = "case_clip_added"
    CASE_CLIP_REMOVED = "case_clip_removed"
    CASE_PHOTO_ADDED = "case_photo_added"
    CASE_CLOSED = "case_closed"
    CASE_EXPORTED = "case_exported"
    REPORT_MADE = "report_made"


SEAL_ACTIONS = frozenset({Action.SEALED, Action.RECOVERED})
"""Entries that seal a clip's bytes; a clip has exactly one of them."""
