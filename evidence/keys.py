"""The site's Ed25519 signing key and the keyring of every public key it ever had.

Layout under ``<storage>/keys``: ``signing.pem`` (PKCS#8, mode 0600, optionally encrypted with
a passphrase) and ``public/<key_id>.pem`` for the current and every retired key, so entries
signed before a rotation still verify. During a rotation the new key waits in
``signing.next.pem`` until the entry introducing it is in the log. A key id is the SHA-256 of
the public key's DER SubjectPublicKeyInfo, which anyone can recompute with
``openssl pkey -pubin -in KEY.pem -outform DER | sha256sum``.

Keys change only by rotation: a ``signing.pem`` whose key is not in the keyring is refused
here, and ``EvidenceStore`` refuses a key the custody log did not rotate to.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from evidence.errors import KeyringError, SignatureError
from evidence.hashing import sha256_bytes

SIGNING_FILE = "signing.pem"
NEXT_FILE = "signing.next.pem"
PUBLIC_DIR = "public"
PASSPHRASE_ENV = "HOTSPOT_KEY_PASSPHRASE_FILE"
MAX_PASSPHRASE = 1024
_prompt: Callable[[], bytes] | None = None


def set_passphrase_prompt(prompt: Callable[[], bytes] | None) -> None:
    """How to ask for the passphrase of an encrypted key when no passphrase file is set (a
    terminal prompt in the command-line tools; nothing in a service without a terminal)."""
    global _prompt
    _prompt = prompt


def passphrase_from_environment() -> bytes | None:
    """The passphrase from the file named by $HOTSPOT_KEY_PASSPHRASE_FILE (first line), if set."""
    name = os.environ.get(PASSPHRASE_ENV)
    if not name:
        return None
    try:
        with open(name, "rb") as handle:
            data = handle.read(MAX_PASSPHRASE + 1)
    except OSError as exc:
        raise KeyringError(f"{PASSPHRASE_ENV}={name}: cannot read the passphrase file ({exc.strerror})") from exc
    passphrase = data.splitlines()[0] if data.strip() else b""
    if not passphrase or len(data) > MAX_PASSPHRASE:
        raise KeyringError(f"{PASSPHRASE_ENV}={name}: the file must hold the passphrase on its first line")
    return passphrase
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

    def __init__(self, folder: Path, keys: dict[str, Ed25519PublicKey], private: Ed25519PrivateKey, *,
                 passphrase: bytes | None = None, pending: Ed25519PrivateKey | None = None) -> None:
        super().__init__(keys)
        self._folder = folder
        self._private = private
        self._passphrase = passphrase
        self.key_id = key_id(private.public_key())
        self._stamp = _stamp(folder / SIGNING_FILE)
        self.pending = pending  # a rotation's new key not yet activated (crash in between)

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
                    "signing key from its offline backup (a new key is never created silently)"
                )
            _write_private(signing, Ed25519PrivateKey.generate(), passphrase_from_environment())
        private, passphrase = _read_private(signing, None)
        kid = key_id(private.public_key())
        if kid not in public:
            if public:
                raise KeyringError(
                    f"{signing}: key {kid} is not one of the site's keys ({', '.join(sorted(public))}). Keys "
                    "change only by `hotspot keys rotate`; restore signing.pem from its offline backup"
                )
            _write_public(folder, private.public_key())
            public[kid] = private.public_key()
        pending = None
        if (folder / NEXT_FILE).exists():
            pending, _ = _read_private(folder / NEXT_FILE, passphrase)
        return cls(folder, public, private, passphrase=passphrase, pending=pending)

    @property
    def encrypted(self) -> bool:
        return self._passphrase is not None

    def refresh(self) -> None:
        """Pick up a rotation done by another process (each camera process holds a keyring).
        The caller checks the new key against the log before it signs anything."""
        signing = self._folder / SIGNING_FILE
        if _stamp(signing) == self._stamp:
            return
        private, self._passphrase = _read_private(signing, self._passphrase)
        self._public.update(_read_public_dir(self._folder / PUBLIC_DIR))
        if key_id(private.public_key()) not in self._public:
            raise KeyringError(f"{signing}: replaced by key {key_id(private.public_key())}, which is not one of "
                               "the site's keys; keys change only by `hotspot keys rotate`")
        self._private = private
        self.key_id = key_id(private.public_key())
        self._stamp = _stamp(signing)

    def sign(self, data: bytes) -> bytes:
        return self._private.sign(data)

    def prepare_rotation(self) -> Ed25519PrivateKey:
        """A new key, saved as ``signing.next.pem`` with its public half in the keyring, so a crash
        after the rotation entry is written can still finish the rotation."""
        new = Ed25519PrivateKey.generate()
        _write_private(self._folder / NEXT_FILE, new, self._passphrase)
        _write_public(self._folder, new.public_key())
        self._public[key_id(new.public_key())] = new.public_key()
        self.pending = new
        return new

    def activate(self, new: Ed25519PrivateKey) -> None:
        """Make the prepared key the signing key (atomically replacing the file)."""
        if self.pending is None or key_id(self.pending.public_key()) != key_id(new.public_key()):
            raise KeyringError("only the key prepared for this rotation can be activated")
        os.replace(self._folder / NEXT_FILE, self._folder / SIGNING_FILE)
        self._private, self.pending = new, None
        self.key_id = key_id(new.public_key())
        self._stamp = _stamp(self._folder / SIGNING_FILE)

    def discard_pending(self) -> None:
        """Drop a prepared key that no rotation entry introduced (a rotation that crashed early)."""
        (self._folder / NEXT_FILE).unlink(missing_ok=True)
        self.pending = None

    def protect(self, passphrase: bytes | None) -> None:
        """Re-encrypt the private key with ``passphrase`` (None stores it unencrypted)."""
        _write_private(self._folder / SIGNING_FILE, self._private, passphrase)
        self._passphrase = passphrase
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


def _read_private(path: Path, passphrase: bytes | None) -> tuple[Ed25519PrivateKey, bytes | None]:
    """The key and the passphrase that opened it (None for an unencrypted key)."""
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyringError(f"{path}: permissions {oct(mode & 0o777)} are too open; expected 0600")
        data = path.read_bytes()
    except OSError as exc:
        raise KeyringError(f"{path}: signing key unreadable ({exc.strerror})") from exc
    if b"ENCRYPTED" in data.split(b"\n", 1)[0]:
        passphrase = passphrase or passphrase_from_environment() or (_prompt() if _prompt else None)
        if not passphrase:
            raise KeyringError(f"{path}: the signing key is encrypted; set {PASSPHRASE_ENV} to a file holding its "
                               "passphrase, or start from a terminal to be asked for it")
    else:
        passphrase = None
    try:
        key = serialization.load_pem_private_key(data, password=passphrase)
    except (ValueError, TypeError) as exc:
        why = "wrong passphrase, or " if passphrase else ""
        raise KeyringError(f"{path}: signing key cannot be read ({why}not a valid PEM private key: {exc})") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyringError(f"{path}: signing key is not Ed25519 ({type(key).__name__})")
    return key, passphrase


def _write_private(path: Path, key: Ed25519PrivateKey, passphrase: bytes | None) -> None:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption())
    data = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
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
