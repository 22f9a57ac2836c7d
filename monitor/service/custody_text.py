"""Custody and audit entries as sentences a head teacher can read aloud.

"system sealed clip 621f… from Demo hallway, 14:52:56-14:52:59 CST, 41 frames" instead of half
a screen of JSON; the raw signed entry stays one click away on the page. Unknown actions
(added later) still read as "<actor> <action>", never as an error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from monitor.config import Config
from monitor.service.site_clock import SiteClock
from monitor.service.site_names import camera_name

Entry = Mapping[str, Any]
Clip = Mapping[str, Any] | None


def short(clip_id: str | None) -> str:
    return f"{clip_id[:8]}…" if clip_id and len(clip_id) > 9 else (clip_id or "")


class Sentences:
    """Turns entries (as ``entry_json`` gives them) into sentences, with the site's names and zone."""

    def __init__(self, config: Config, clock: SiteClock) -> None:
        self._config = config
        self._clock = clock
        self._rules: dict[str, Callable[[Entry, Clip], str]] = {
            "sealed": self._sealed, "viewed": self._viewed, "downloaded": self._downloaded,
            "exported": self._exported, "verified": self._verified, "hold_set": self._hold_set,
            "hold_released": self._hold_released, "deleted_by_retention": self._deleted,
            "quarantined": self._quarantined, "recovered": self._recovered, "key_rotated": self._key_rotated,
            "config_changed": self._config_changed, "user_added": self._user_added,
            "user_changed": self._user_changed, "password_reset": self._password_reset,
            "password_changed": self._password_changed, "token_created": self._token_created,
            "token_revoked": self._token_revoked, "editor_frame_viewed": self._editor_frame,
            "custodians_set": self._custodians_set, "unmask_requested": self._unmask_requested,
            "unmask_approved": self._unmask_approved, "unmask_disclosed": self._unmask_disclosed,
        }

    def __call__(self, entry: Entry, clip: Clip = None) -> str:
        rule = self._rules.get(str(entry["action"]))
        details = entry.get("details") or {}
        if rule is None or not isinstance(details, Mapping):
            return f"{entry['actor']} {str(entry['action']).replace('_', ' ')}"
        try:
            return rule(entry, clip)
        except (KeyError, TypeError, ValueError):  # an entry of an older or newer shape
            return f"{entry['actor']} {str(entry['action']).replace('_', ' ')}"

    def _clip(self, entry: Entry, clip: Clip) -> str:
        """``clip 621f… (Demo hallway, 14:52:56-14:52:59 CST)``, as much as is known."""
        text = f"clip {short(entry.get('clip_id'))}"
        camera = (clip or {}).get("camera_id") or (entry.get("details") or {}).get("metadata", {}).get("camera")
        facts = [camera_name(self._config, camera)] if camera else []
        if clip and clip.get("start"):
            facts.append(self._clock.span(clip["start"], clip.get("end")))
        return f"{text} ({', '.join(facts)})" if facts else text

    def _sealed(self, entry: Entry, clip: Clip) -> str:
        frames = f", {clip['frame_count']} frames" if clip and clip.get("frame_count") else ""
        incomplete = entry["details"].get("incomplete")
        return (f"{entry['actor']} sealed {self._clip(entry, clip)}{frames}"
                + (f" (incomplete: {incomplete})" if incomplete else ""))

    def _viewed(self, entry: Entry, clip: Clip) -> str:
        return f"{entry['actor']} viewed {self._clip(entry, clip)}"

    def _downloaded(self, entry: Entry, clip: Clip) -> str:
        return f"{entry['actor']} downloaded the video of {self._clip(entry, clip)}"

    def _exported(self, entry: Entry, clip: Clip) -> str:
        d = entry["details"]
        case = f" for case {d['case']}" if d.get("case") else ""
        why = f", to {d['recipient']}" if d.get("recipient") else (f": {d['reason']}" if d.get("reason") else "")
        return f"{entry['actor']} exported an evidence bundle of {self._clip(entry, clip)}{case}{why}"

    def _verified(self, entry: Entry, clip: Clip) -> str:
        d = entry["details"]
        if entry.get("clip_id"):
            return f"{entry['actor']} checked {self._clip(entry, clip)}: {d.get('status', 'done')}"
        outcome = "verified" if d.get("ok") else f"not verified ({d.get('error') or 'failed'})"
        return f"{entry['actor']} checked an uploaded bundle of {d.get('bundle_bytes', '?')} bytes: {outcome}"

    def _hold_set(self, entry: Entry, clip: Clip) -> str:
        return f"{entry['actor']} put {self._clip(entry, clip)} on legal hold: {entry['details'].get('reason', '')}"

    def _hold_released(self, entry: Entry, clip: Clip) -> str:
        return f"{entry['actor']} released the legal hold on {self._clip(entry, clip)}: {entry['details'].get('reason', '')}"

    def _deleted(self, entry: Entry, clip: Clip) -> str:
        return f"retention deleted {self._clip(entry, clip)} (older than the retention period)"

    def _quarantined(self, entry: Entry, clip: Clip) -> str:
        reason = entry["details"].get("reason")
        return f"{entry['actor']} quarantined {self._clip(entry, clip)}" + (f": {reason}" if reason else "")

    def _recovered(self, entry: Entry, clip: Clip) -> str:
        return f"{entry['actor']} sealed {self._clip(entry, clip)}, recovered after a crash"

    def _key_rotated(self, entry: Entry, clip: Clip) -> str:
        new = entry["details"].get("new_key_id") or entry.get("key_id") or ""
        return f"{entry['actor']} rotated the site's signing key" + (f" (new key {str(new)[:16]}…)" if new else "")

    def _config_changed(self, entry: Entry, clip: Clip) -> str:
        d = entry["details"]
        if d.get("section") == "zones":
            hot, private = len(d.get("zones") or []), len(d.get("privacy_zones") or [])
            return (f"{entry['actor']} changed the zones of {camera_name(self._config, d['camera'])}: "
                    f"{hot} hotspot{'s' if hot != 1 else ''}, {private} privacy zone{'s' if private != 1 else ''}")
        if d.get("section") == "schedules":
            names = ", ".join(sorted(d.get("schedules") or {})) or "none"
            return f"{entry['actor']} changed the schedules ({names}) and holidays"
        return f"{entry['actor']} changed the configuration ({d.get('file', 'cameras.yaml')})"

    def _user_added(self, entry: Entry, clip: Clip) -> str:
        d = entry["details"]
        return f"{entry['actor']} added user {d['user']} as {d['role']}, with a one-time password"

    def _user_changed(self, entry: Entry, clip: Clip) -> str:
        d, parts = entry["details"], []
        if "role" in d:
            parts.append(f"changed {d['user']}'s role from {d.get('previous_role', '?')} to {d['role']}")
        if "disabled" in d:
            parts.append(f"{'disabled' if d['disabled'] else 'enabled'} {d['user']}")
        return f"{entry['actor']} " + " and ".join(parts or [f"changed user {d['user']}"])

    def _password_reset(self, entry: Entry, clip: Clip) -> str:
        return f"{entry['actor']} reset {entry['details']['user']}'s password to a one-time password"

    def _password_changed(self, entry: Entry, clip: Clip) -> str:
        return f"{entry['actor']} changed their own password"

    def _token_created(self, entry: Entry, clip: Clip) -> str:
        return f"{entry['actor']} created the API token \u201c{entry['details']['token']}\u201d"

    def _custodians_set(self, entry: Entry, clip: Clip) -> str:
        d = entry["details"]
        return (f"{entry['actor']} made a new unmask key: shares of any {d['threshold']} of "
                f"{', '.join(d['custodians'])} open the originals recorded from now on")

    def _unmask_requested(self, entry: Entry, clip: Clip) -> str:
        d = entry["details"]
        return (f"{entry['actor']} asked to unmask the original of {self._clip(entry, clip)} for case {d['case']}, "
                f"to {d['recipient']}")

    def _unmask_approved(self, entry: Entry, clip: Clip) -> str:
        return (f"custodian {entry['details']['custodian']} approved unmasking the original of "
                f"{self._clip(entry, clip)} with their share")

    def _unmask_disclosed(self, entry: Entry, clip: Clip) -> str:
        d = entry["details"]
        return (f"{entry['actor']} received the unmasked original of {self._clip(entry, clip)} for case "
                f"{d['case']}, to {d['recipient']}")

    def _editor_frame(self, entry: Entry, clip: Clip) -> str:
        camera = camera_name(self._config, entry["details"]["camera"])
        return f"{entry['actor']} saw the zone editor's picture of {camera} (only privacy zones masked)"

    def _token_revoked(self, entry: Entry, clip: Clip) -> str:
        return f"{entry['actor']} revoked the API token \u201c{entry['details']['token']}\u201d"
