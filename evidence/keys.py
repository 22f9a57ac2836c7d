"""The site's Ed25519 signing key and the keyring of every public key it ever had.

Layout under ``<storage>/keys``: ``signing.pem`` (PKCS#8, mode 0600) and ``public/<key_id>.pem``
for the current and every retired key, so entries signed before a rotation still verify.
A key id is the SHA-256 of the public key's DER SubjectPublicKeyInfo, which anyone can
recompute with ``openssl pkey -pubin -in KEY.pem -outform DER | sha256sum``.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from evidence.errors import KeyringError, SignatureError
from evidence.hashing import sha256_bytes

SIGNING_FILE = "signing.pem"
PUBLIC_DIR = "public"
MAX_PEM_BYTES = 4096
KEY_ID = re.compile(r"^[0-9a-f]{64}$")


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_id(key: Ed25519PublicKey) -> str:
    """SHA-256 fingerprint of the DER SubjectPublicKeyInfo."""
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return sha256_bytes(der)


def load_public_pem(data: bytes, where: str) -> Ed25519PublicKey:
    """Parse an Ed25519 public key PEM, translating library errors."""
    if len(data) > MAX_PEM_BYTES:
        raise KeyringError(f"{where}: public key file is {len(data)} bytes, more than {MAX_PEM_BYTES}")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise KeyringError(f"{where}: not a PEM public key ({exc})") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise KeyringError(f"{where}: not an Ed25519 key ({type(key).__name__})")
    return key


class PublicKeyring:
    """Public keys by id: all that verification needs."""

    def __init__(self, keys: dict[str, Ed25519PublicKey]) -> None:
        self._public = dict(keys)

    @classmethod
    def load(cls, folder: Path) -> PublicKeyring:
        return cls(_read_public_dir(folder / PUBLIC_DIR))

    @property
    def key_ids(self) -> list[str]:
        return sorted(self._public)

    def __contains__(self, kid: object) -> bool:
        return kid in self._public

    def public_pem(self, kid: str) -> bytes:
        return public_pem(self._public[kid])

    def verify(self, kid: str, data: bytes, signature: bytes, *, what: str) -> None:
        """Raise SignatureError unless ``signature`` by key ``kid`` covers ``data``."""
        key = self._public.get(kid)
        if key is None:
            raise SignatureError(f"{what}: signed by unknown key {kid}")
        try:
            key.verify(signature, data)
        except InvalidSignature:
            raise SignatureError(f"{what}: Ed25519 signature does not verify with key {kid}") from None


class SigningKeyring(PublicKeyring):
    """The keyring plus the current private key; created on first use, never defaulted."""

    def __init__(self, folder: Path, keys: dict[str, Ed25519PublicKey], private: Ed25519PrivateKey) -> None:
        super().__init__(keys)
        self._folder = folder
        self._private = private
        self.key_id = key_id(private.public_key())
        self._stamp = _stamp(folder / SIGNING_FILE)

    @classmethod
    def open(cls, folder: Path) -> SigningKeyring:
        """Load the signing key, or create one when the keyring is empty. Fails closed."""
        folder.mkdir(parents=True, exist_ok=True)
        signing = folder / SIGNING_FILE
        public = _read_public_dir(folder / PUBLIC_DIR)
        if not signing.exists():
            if public:
                raise KeyringError(
                    f"{signing} is missing but the keyring holds {len(public)} key(s); restore the "
                    "signing key from backup (a new key is never created silently)"
                )
            _write_private(signing, Ed25519PrivateKey.generate())
        private = _read_private(signing)
        kid = key_id(private.public_key())
        if kid not in public:
            _write_public(folder, private.public_key())
            public[kid] = private.public_key()
        return cls(folder, public, private)

    def refresh(self) -> None:
        """Pick up a rotation done by another process (each camera process holds a keyring)."""
        signing = self._folder / SIGNING_FILE
        if _stamp(signing) == self._stamp:
            return
        self._private = _read_private(signing)
        self.key_id = key_id(self._private.public_key())
        self._public.update(_read_public_dir(self._folder / PUBLIC_DIR))
        self._stamp = _stamp(signing)

    def sign(self, data: bytes) -> bytes:
        return self._private.sign(data)

    def prepare_rotation(self) -> Ed25519PrivateKey:
        """A new key whose public half is already in the keyring, so nothing it signs is orphaned."""
        new = Ed25519PrivateKey.generate()
        _write_public(self._folder, new.public_key())
        self._public[key_id(new.public_key())] = new.public_key()
        return new

    def activate(self, new: Ed25519PrivateKey) -> None:
        """Make ``new`` the signing key (atomically replacing the file)."""
        _write_private(self._folder / SIGNING_FILE, new)
        self._private = new
        self.key_id = key_id(new.public_key())
        self._stamp = _stamp(self._folder / SIGNING_FILE)


def _stamp(path: Path) -> tuple[int, int]:
    try:
        info = path.stat()
    except OSError as exc:
        raise KeyringError(f"{path}: signing key unreadable ({exc.strerror})") from exc
    return info.st_ino, info.st_mtime_ns


def _read_public_dir(folder: Path) -> dict[str, Ed25519PublicKey]:
    keys: dict[str, Ed25519PublicKey] = {}
    if not folder.is_dir():
        return keys
    for path in sorted(folder.glob("*.pem")):
        key = load_public_pem(path.read_bytes(), str(path))
        if key_id(key) != path.stem:
            raise KeyringError(f"{path}: file name does not match the key's fingerprint {key_id(key)}")
        keys[path.stem] = key
    return keys


def _read_private(path: Path) -> Ed25519PrivateKey:
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyringError(f"{path}: permissions {oct(mode & 0o777)} are too open; expected 0600")
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise KeyringError(f"{path}: signing key unreadable ({exc.strerror})") from exc
    except (ValueError, TypeError) as exc:
        raise KeyringError(f"{path}: signing key is not a valid PEM private key ({exc})") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyringError(f"{path}: signing key is not Ed25519 ({type(key).__name__})")
    return key


def _write_private(path: Path, key: Ed25519PrivateKey) -> None:
    data = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _write_public(folder: Path, key: Ed25519PublicKey) -> None:
    target = folder / PUBLIC_DIR
    target.mkdir(parents=True, exist_ok=True)
    path = target / f"{key_id(key)}.pem"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(public_pem(key))
    os.replace(tmp, path)
