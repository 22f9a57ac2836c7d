"""A draft certificate of authenticity (FRE 902(14), by hash) that the site's custodian completes and signs.

The text is filled from the signed seal and export entries, so every hash and time it states is
one the verifier checks; only the custodian's name, title, date and signature are left blank.
It is a draft for counsel to review, and says so.
"""

from __future__ import annotations

from typing import Any

from evidence.actions import Action
from evidence.entry import CustodyRecord

BLANK = "______________________________"


def certificate_text(*, seal: CustodyRecord, export: CustodyRecord, entries: list[CustodyRecord],
                     signed_by: str, software: dict[str, str], clip_member: str) -> str:
    """The certificate of one clip bundle as plain text (UTF-8, one ``\\n`` per line)."""
    metadata: dict[str, Any] = seal.details.get("metadata") or {}
    recovered = seal.details.get("incomplete")
    how = ("left open by a crash and sealed as found by the recovery pass (action \"recovered\")"
           if seal.action == Action.RECOVERED else "sealed as incomplete")
    caveat = (f"\n   The clip was {how} ({one_line(str(recovered))}): it holds what was recorded "
              "before the recording stopped, not a whole event.\n" if recovered else "")
    return _declaration(f"""2. The file {clip_member} in this bundle is a copy of a video recording made by that system
   from camera {one_line(str(metadata.get("camera", "(not recorded)")))}, from {metadata.get("start", "(not recorded)")} to \
{metadata.get("end", "(not recorded)")} (UTC).
   The system records such clips in the regular course of its activity, when motion is detected
   in a configured zone during a configured schedule, at or near the time of the events shown.
{caveat}
3. Identification by hash. While the recording was written, the system computed its SHA-256
   digest (FIPS 180-4). It sealed the file in custody entry #{seal.seq} at {seal.time_text} with
       SHA-256 {seal.object_sha256}
       size    {seal.details.get("size")} bytes
   and signed that entry with the site's Ed25519 key whose fingerprint is
       {seal.key_id}
   The copy in this bundle has that same SHA-256 digest, which anyone can recompute with the
   standard tool `sha256sum`; VERIFY.md in this bundle lists every check. A match shows the copy
   is bit for bit identical to the file sealed at recording time.
""", handled="the clip since it was sealed", export=export, entries=entries, signed_by=signed_by, software=software)


def case_certificate_text(*, clips: list[tuple[CustodyRecord, str]], report: tuple[CustodyRecord, str],
                          export: CustodyRecord, entries: list[CustodyRecord], signed_by: str,
                          software: dict[str, str]) -> str:
    """The certificate of a case bundle: every clip (its seal and bundle member) and the report."""
    listed = "\n".join(_clip_lines(seal, member) for seal, member in clips)
    made, member = report
    return _declaration(f"""2. The files under clip/ in this bundle are copies of video recordings made by that system.
   The system records such clips in the regular course of its activity, when motion is detected
   in a configured zone during a configured schedule, at or near the time of the events shown.
   While each recording was written, the system computed its SHA-256 digest (FIPS 180-4) and
   sealed the file in a custody entry signed with the site's Ed25519 key:
{listed}
   Each copy in this bundle has the SHA-256 digest shown, which anyone can recompute with the
   standard tool `sha256sum`; VERIFY.md in this bundle lists every check. A match shows a copy is
   bit for bit identical to the file sealed at recording time.

3. The file {member} in this bundle is the incident report the system made
   from those records at {made.time_text} (custody entry #{made.seq}, by {one_line(made.actor)}),
   whose SHA-256 digest is
       {made.object_sha256}
""", handled="the clips since each was sealed, and of the case", export=export, entries=entries, signed_by=signed_by, software=software)


def _clip_lines(seal: CustodyRecord, member: str) -> str:
    metadata: dict[str, Any] = seal.details.get("metadata") or {}
    recovered = seal.details.get("incomplete")
    caveat = (f"\n       {seal.action.value} as incomplete ({one_line(str(recovered))}): it holds what was "
              "recorded before the recording stopped" if recovered else "")
    return (f"     {member}: camera {one_line(str(metadata.get('camera', '(not recorded)')))}, "
            f"{metadata.get('start', '(not recorded)')} to {metadata.get('end', '(not recorded)')} (UTC)\n"
            f"       SHA-256 {seal.object_sha256}, {seal.details.get('size')} bytes, "
            f"sealed in entry #{seal.seq} at {seal.time_text}\n       by key {seal.key_id}{caveat}")


def _declaration(body: str, *, handled: str, export: CustodyRecord, entries: list[CustodyRecord],
                 signed_by: str, software: dict[str, str]) -> str:
    """The declaration around ``body`` (paragraphs 2 and 3): who declares, the handling, the export."""
    details = export.details
    handling = "\n".join(f"     #{e.seq}  {e.time_text}  {e.action.value:<20} by {one_line(e.actor)}" for e in entries)
    return f"""DRAFT - CERTIFICATE OF AUTHENTICITY OF DATA COPIED FROM AN ELECTRONIC DEVICE OR STORAGE MEDIUM
Federal Rules of Evidence 902(14) and 902(11) - draft for review by counsel before use

I, {BLANK} (name), declare:

1. I am employed by {BLANK} (school or district) as {BLANK} (title).
   I am a custodian of the video records of its Hotspot Monitor system, or otherwise qualified
   by my knowledge of how that system makes and keeps them.

{body}
4. Every recorded handling of {handled}, from the signed custody log:
{handling}

5. This copy was exported at {export.time_text} by {one_line(str(details.get("by")))} for case {one_line(str(details.get("case")))},
   for {one_line(str(details.get("recipient")))}, whose stated interest is: {one_line(str(details.get("interest")))}.
   Reason recorded: {one_line(str(details.get("reason")))}.
   The bundle is signed with the site's key
       {signed_by}
   whose fingerprint, with those of the keys before it, is on the key card the site printed and signed.

6. Software: {software.get("name")} version {software.get("version")}.

I declare under penalty of perjury under the laws of the United States that the foregoing is
true and correct.

Executed on {BLANK} (date) at {BLANK} (place).

Signature: {BLANK}            Printed name: {BLANK}
"""


def one_line(text: str, limit: int = 200) -> str:
    """Free text shown in a generated document: one printable line, no backticks, bounded."""
    flat = " ".join("".join(c if c.isprintable() and c != "`" else " " for c in text).split())
    return flat[:limit]
