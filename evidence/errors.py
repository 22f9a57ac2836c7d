"""One root error for the package; subclasses only where a caller reacts differently."""

from __future__ import annotations


class EvidenceError(Exception):
    """Anything the evidence package refuses to do."""


class KeyringError(EvidenceError):
    """The signing key is missing, unreadable or unsafe: sealing stops rather than sign with
    a key nobody can vouch for."""


class ClipNotFound(EvidenceError):
    """No SEALED custody entry exists for the requested clip."""


class VerificationError(EvidenceError):
    """Verification failed; the message says what and where."""


class IntegrityError(VerificationError):
    """Bytes do not hash to what was sealed or signed (clip, custody entry, manifest)."""


class SignatureError(VerificationError):
    """A signature does not verify, or names a key that is not in the keyring."""


class ChainError(VerificationError):
    """Custody entries are not linked as recorded: missing, reordered, inserted or truncated."""


class BundleFormatError(VerificationError):
    """An export bundle is malformed, oversized or unsafe to open."""


class TrustError(VerificationError):
    """Everything may be intact, but the signing key is not one the reader trusts (or linked to one)."""
