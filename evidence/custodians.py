"""The unmask key: an age X25519 identity that exists only as custodians' SLIP-39 shares.

``split_new_key`` makes the identity in memory, splits its 32 bytes into one share per named
custodian (any ``threshold`` of them rebuild it) and forgets it; only the public recipient is
kept by the site. ``rebuild_identity`` takes share files back and refuses, before anything is
decrypted or logged, fewer custodians than the threshold, two shares of one custodian, a share
from another split, and shares that rebuild any key but the one the original was sealed to.

A share file is plain text meant to be printed and kept offline: its words are the SLIP-39
mnemonic (its own checksum catches a mistyped word); the other lines only say whose it is.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyrage
import shamir_mnemonic
from shamir_mnemonic.share import Share

from evidence import bech32
from evidence.errors import EvidenceError

SECRET_HRP = "age-secret-key-"
SHARE_HEADER = "# Hotspot Monitor unmask key share"
SHARE_SUFFIX = ".share.txt"
_FIELD = re.compile(r"^([a-z]+):\s*(.*)$")


class ShareError(EvidenceError):
    """Shares that cannot unmask: too few, repeated, altered or from another key."""


@dataclass(frozen=True)
class CustodianShare:
    """One custodian's share, as written to (or read from) a share file."""

    custodian: str
    number: int  # 1-based position among the custodians
    count: int
    threshold: int
    recipient: str
    site: str
    words: str
    source: str = ""  # the file it was read from, for messages

    def text(self) -> str:
        return (
            f"{SHARE_HEADER}\n"
            "# Keep it offline. Alone it reveals nothing; shares of any "
            f"{self.threshold} of the {self.count} custodians\n"
            "# together rebuild the key that opens this site's original (unmasked) recordings.\n"
            f"site: {self.site}\ncustodian: {self.custodian}\nshare: {self.number} of {self.count}\n"
            f"threshold: {self.threshold}\nrecipient: {self.recipient}\nwords: {self.words}\n"
        )


@dataclass(frozen=True)
class NewKey:
    """What a split leaves behind: the public recipient and the shares to hand out."""

    recipient: str
    threshold: int
    shares: tuple[CustodianShare, ...]


def identity_line(secret: bytes) -> str:
    """The ``AGE-SECRET-KEY-1...`` line ``age -d -i`` reads."""
    return bech32.encode(SECRET_HRP, secret).upper()


def recipient_of(secret: bytes) -> str:
    return str(pyrage.x25519.Identity.from_str(identity_line(secret)).to_public())


def split_new_key(names: Sequence[str], *, threshold: int, site: str) -> NewKey:
    """Generate an identity and split it; the identity itself is never returned or stored."""
    if len(set(names)) != len(names) or not names:
        raise EvidenceError("custodian names must be given once each")
    if not 2 <= threshold <= len(names) <= 16:
        raise EvidenceError(f"threshold {threshold} must be at least 2 and at most the {len(names)} custodians "
                            "(16 at most)")
    secret = os.urandom(32)
    recipient = recipient_of(secret)
    groups = shamir_mnemonic.generate_mnemonics(1, [(threshold, len(names))], secret)
    shares = tuple(
        CustodianShare(custodian=name, number=i + 1, count=len(names), threshold=threshold,
                       recipient=recipient, site=site, words=words)
        for i, (name, words) in enumerate(zip(names, groups[0], strict=True))
    )
    return NewKey(recipient, threshold, shares)


def write_share_files(folder: Path, shares: Iterable[CustodianShare]) -> list[Path]:
    """One file per custodian, created exclusively, readable by its owner only."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for share in shares:
        path = folder / f"{share.custodian}{SHARE_SUFFIX}"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(share.text())
            handle.flush()
            os.fsync(handle.fileno())
        written.append(path)
    return written


def read_share(path: Path) -> CustodianShare:
    """Parse a share file; its words are checked by SLIP-39's own checksum here."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ShareError(f"share file {path}: cannot be read ({exc})") from exc
    return parse_share(text, str(path))


def parse_share(text: str, source: str = "share") -> CustodianShare:
    fields: dict[str, str] = {}
    for line in text.splitlines():
        match = _FIELD.match(line.strip())
        if match and not line.startswith("#"):
            fields[match[1]] = match[2].strip()
    missing = [k for k in ("custodian", "share", "threshold", "recipient", "words") if not fields.get(k)]
    if missing:
        raise ShareError(f"{source}: not a share file (missing {', '.join(missing)})")
    words = " ".join(fields["words"].lower().split())
    share = _slip39(words, source)
    number = share.index + 1
    try:
        said = int(fields["share"].split()[0])
    except ValueError:
        said = -1
    if said != number:
        raise ShareError(f"{source}: says share {fields['share']!r} but its words are share {number}")
    return CustodianShare(
        custodian=fields["custodian"], number=number, count=_int(fields["share"].split()[-1]),
        threshold=share.member_threshold, recipient=fields["recipient"], site=fields.get("site", ""),
        words=words, source=source,
    )


def rebuild_identity(shares: Sequence[CustodianShare], *, recipient: str,
                     custodians: Sequence[str] = ()) -> str:
    """The identity line, in memory only, once the shares prove to be enough and the right ones.

    ``custodians`` (in share order) names whose share each number is; a file whose
    custodian line disagrees is refused, so one person cannot present another's share as theirs.
    """
    if not shares:
        raise ShareError("no share given")
    for share in shares:
        if share.recipient != recipient:
            raise ShareError(f"{share.source}: a share of key {share.recipient}, not of {recipient} "
                             "to which this original is encrypted")
        if custodians and (share.number > len(custodians) or custodians[share.number - 1] != share.custodian):
            owner = custodians[share.number - 1] if share.number <= len(custodians) else "nobody"
            raise ShareError(f"{share.source}: says custodian {share.custodian!r} but share {share.number} "
                             f"belongs to {owner!r}")
    _refuse_repeats(shares)
    threshold = max(s.threshold for s in shares)
    if len(shares) < threshold:
        held = ", ".join(s.custodian for s in shares)
        raise ShareError(f"{len(shares)} share(s) ({held}); unmasking needs shares from {threshold} different "
                         "custodians")
    try:
        secret = shamir_mnemonic.combine_mnemonics([s.words for s in shares])
    except shamir_mnemonic.MnemonicError as exc:
        raise ShareError(f"the shares do not combine ({exc}): a share from another key, or altered") from exc
    if len(secret) != 32:
        raise ShareError(f"the shares hold a {len(secret)}-byte secret, not an X25519 key")
    line = identity_line(secret)
    if recipient_of(secret) != recipient:
        raise ShareError(f"the shares rebuild a key other than {recipient}: a wrong or altered share")
    return line


def _refuse_repeats(shares: Sequence[CustodianShare]) -> None:
    by_number: dict[int, CustodianShare] = {}
    by_name: dict[str, CustodianShare] = {}
    for share in shares:
        for seen in (by_number.get(share.number), by_name.get(share.custodian)):
            if seen is not None:
                raise ShareError(
                    f"{seen.source} and {share.source} are both the share of custodian {share.custodian!r} "
                    f"(share {share.number}); each custodian counts once")
        by_number[share.number] = by_name[share.custodian] = share


def _slip39(words: str, source: str) -> Share:
    try:
        share = Share.from_mnemonic(words)
    except shamir_mnemonic.MnemonicError as exc:
        raise ShareError(f"{source}: the words are not a valid share ({exc})") from exc
    if share.group_count != 1 or share.group_threshold != 1:
        raise ShareError(f"{source}: a multi-group share; this site uses one group of custodians")
    return share


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0
