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
    RECOVERED = "recovered"
    CASE_OPENED = "case_opened"
    CASE_CHANGED = "case_changed"
    CASE_CLIP_ADDED = "case_clip_added"
    CASE_CLIP_REMOVED = "case_clip_removed"
    CASE_PHOTO_ADDED = "case_photo_added"
    CASE_CLOSED = "case_closed"
    CASE_EXPORTED = "case_exported"
    REPORT_MADE = "report_made"
