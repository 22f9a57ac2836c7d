"""Who may do what: the permission matrix enforced on every route and printed in the docs."""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    ALERTS_VIEW = "alerts.view"
    ALERTS_ACK = "alerts.ack"
    ALERTS_CLIP = "alerts.clip"
    CAMERAS_VIEW = "cameras.view"
    LIVE_VIEW = "live.view"
    CLIPS_VIEW = "clips.view"
    CLIPS_EXPORT = "clips.export"
    BUNDLES_VERIFY = "bundles.verify"
    HOLDS_MANAGE = "holds.manage"
    ZONES_EDIT = "zones.edit"
    SCHEDULES_EDIT = "schedules.edit"
    USERS_MANAGE = "users.manage"
    AUDIT_VIEW = "audit.view"
    CASES_OPEN = "cases.open"
    CASES_MANAGE = "cases.manage"
    NOTIFY_EDIT = "notify.edit"
    PATROL_PLAN = "patrol.plan"


DESCRIPTIONS: dict[Permission, str] = {
    Permission.ALERTS_VIEW: "see the alert board, alert snapshots and live alert updates",
    Permission.ALERTS_ACK: "acknowledge an alert with a note",
    Permission.ALERTS_CLIP: "play the privacy-masked clip of an alert on the board, up to 12 hours after it "
                            "(each viewing logged); no search, no download",
    Permission.CAMERAS_VIEW: "see cameras online/offline, fps and last error",
    Permission.LIVE_VIEW: "watch the privacy-masked live view of a camera",
    Permission.CLIPS_VIEW: "search clips, play them, see custody history and verification status",
    Permission.CLIPS_EXPORT: "download a clip or export an evidence bundle (case, reason)",
    Permission.BUNDLES_VERIFY: "upload an evidence bundle and verify it",
    Permission.HOLDS_MANAGE: "set and release a legal hold on a clip",
    Permission.ZONES_EDIT: "see the zone editor frame and edit hotspot and privacy zones",
    Permission.SCHEDULES_EDIT: "edit the named schedules and the holidays",
    Permission.USERS_MANAGE: "add users, change roles, reset passwords, disable users",
    Permission.AUDIT_VIEW: "see logins, failed logins and every custody entry",
    Permission.CASES_OPEN: "open a case from an alert and see the cases one opened",
    Permission.CASES_MANAGE: "see and work on every case: clips, notes, photographs, report, case bundle, close",
    Permission.NOTIFY_EDIT: "edit which alerts go to which webhook, MQTT broker or e-mail",
    Permission.PATROL_PLAN: "see the hotspot heat map, draw and print patrol plans, check past plans' predictability",
}

_SECURITY = {
    Permission.ALERTS_VIEW, Permission.ALERTS_ACK, Permission.ALERTS_CLIP, Permission.CAMERAS_VIEW,
    Permission.LIVE_VIEW, Permission.PATROL_PLAN, Permission.CASES_OPEN,
}
_INVESTIGATOR = {
    Permission.ALERTS_VIEW, Permission.ALERTS_CLIP, Permission.CAMERAS_VIEW, Permission.CLIPS_VIEW, Permission.CLIPS_EXPORT,
    Permission.BUNDLES_VERIFY, Permission.HOLDS_MANAGE, Permission.CASES_OPEN, Permission.CASES_MANAGE,
}
ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "security": frozenset(_SECURITY),
    "investigator": frozenset(_INVESTIGATOR),
    "admin": frozenset(Permission),
}


def allowed(role: str, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS.get(role, frozenset())


def matrix_markdown() -> str:
    """The role x permission table, exactly as enforced (docs/permissions.md embeds it)."""
    roles = list(ROLE_PERMISSIONS)
    lines = [
        "| permission | what it allows | " + " | ".join(roles) + " |",
        "|---|---|" + "---|" * len(roles),
    ]
    for permission in Permission:
        marks = " | ".join("yes" if allowed(r, permission) else "-" for r in roles)
        lines.append(f"| `{permission.value}` | {DESCRIPTIONS[permission]} | {marks} |")
    return "\n".join(lines) + "\n"
