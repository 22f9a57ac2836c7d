"""One S3 bucket with Object Lock, as the site uses it (docs/object-storage.md).

Every clip object is written once, in COMPLIANCE mode, retained until the end of the site's
retention period; nobody, root on a node or the bucket's owner, can shorten that or delete the
version before it expires. The store checks the SHA-256 sent with the upload, so a clip that
changed on the way is refused rather than stored.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from monitor.config.models import Objects

CHUNK = 1 << 20  # bytes per read of a streamed object


class ObjectStoreError(Exception):
    """The object store refused or could not be reached; the message says which bucket and why."""


class ObjectLockMissing(ObjectStoreError):
    """The bucket exists but has no Object Lock: nothing written there would be write-once."""


@dataclass(frozen=True)
class StoredObject:
    """A confirmed upload: where it is, which version, and until when it cannot be deleted."""

    key: str
    version_id: str
    retain_until: datetime
    sha256: str


def credentials(objects: Objects, environ: dict[str, str] | None = None) -> tuple[str, str]:
    """Access key and secret from ``credentials_file`` when set, else the environment."""
    env = dict(os.environ if environ is None else environ)
    if objects.credentials_file:
        env = _read_credentials(Path(objects.credentials_file))
    key, secret = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
    if not key or not secret:
        where = objects.credentials_file or "the environment"
        raise ObjectStoreError(f"storage.objects: no AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in {where}")
    return key, secret


def _read_credentials(path: Path) -> dict[str, str]:
    """``NAME=value`` lines, or an AWS shared-credentials file's ``aws_access_key_id = ...``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ObjectStoreError(f"storage.objects.credentials_file {path}: {exc.strerror}") from exc
    values: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith(("#", ";", "[")):
            values[name.strip().upper()] = value.strip().strip("\"'")
    return values


def sha256_base64(hex_digest: str) -> str:
    """S3's form of a SHA-256 (``x-amz-checksum-sha256``): the 32 bytes in base64."""
    return base64.b64encode(bytes.fromhex(hex_digest)).decode("ascii")


class Bucket:
    """The site's bucket through boto3; every method raises ``ObjectStoreError`` on failure."""

    def __init__(self, objects: Objects, *, timeout: float = 5.0) -> None:
        import boto3  # loaded only by the processes that talk to the store
        from botocore.config import Config as BotoConfig

        key, secret = credentials(objects)
        self.name = objects.bucket
        self.prefix = objects.prefix
        self.url = f"{objects.endpoint.rstrip('/')}/{objects.bucket}"
        self._client = boto3.client(
            "s3", endpoint_url=objects.endpoint, region_name=objects.region,
            aws_access_key_id=key, aws_secret_access_key=secret,
            config=BotoConfig(connect_timeout=timeout, read_timeout=max(timeout, 30.0),
                              retries={"max_attempts": 1}, s3={"addressing_style": "path"},
                              request_checksum_calculation="when_required"),
        )

    def key_for(self, relative: str) -> str:
        return f"{self.prefix}{relative}"

    def check_object_lock(self) -> None:
        """Refuse a bucket whose objects could be deleted or overwritten (called at start)."""
        try:
            config = self._client.get_object_lock_configuration(Bucket=self.name)
        except Exception as exc:
            if _code(exc) in {"ObjectLockConfigurationNotFoundError", "ObjectLockConfigurationNotFound"}:
                raise self._lock_missing() from exc
            raise ObjectStoreError(f"bucket {self.url}: cannot read its Object Lock setting: {exc}") from exc
        if config.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") != "Enabled":
            raise self._lock_missing()

    def _lock_missing(self) -> ObjectLockMissing:
        return ObjectLockMissing(
            f"bucket {self.url} has no Object Lock, so clips stored there could be deleted or "
            "overwritten: create a bucket with Object Lock enabled (aws s3api create-bucket "
            "--object-lock-enabled-for-bucket, or your store's equivalent) and name it in "
            "storage.objects.bucket; Object Lock cannot be added to an existing bucket everywhere")

    def put_locked(self, relative: str, path: Path, *, sha256: str, retain_until: datetime,
                   legal_hold: bool = False) -> StoredObject:
        """Upload ``path`` under COMPLIANCE retention (and legal hold); the store checks ``sha256``."""
        key = self.key_for(relative)
        try:
            with path.open("rb") as body:
                reply = self._client.put_object(
                    Bucket=self.name, Key=key, Body=body, ChecksumSHA256=sha256_base64(sha256),
                    ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=retain_until,
                    ObjectLockLegalHoldStatus="ON" if legal_hold else "OFF",
                    ContentType="video/mp4" if key.endswith(".mp4") else "application/octet-stream",
                )
        except OSError:
            raise
        except Exception as exc:
            raise ObjectStoreError(f"bucket {self.url}: upload of {key} failed: {exc}") from exc
        version = reply.get("VersionId")
        if not version:
            raise ObjectStoreError(f"bucket {self.url}: no version id for {key}: is versioning on?")
        return StoredObject(key=key, version_id=str(version), retain_until=retain_until, sha256=sha256)

    def describe(self, key: str, version_id: str) -> dict[str, Any]:
        """The stored version's lock, legal hold and checksum, as the store reports them."""
        try:
            head = self._client.head_object(Bucket=self.name, Key=key, VersionId=version_id,
                                            ChecksumMode="ENABLED")
        except Exception as exc:
            raise ObjectStoreError(f"bucket {self.url}: cannot read {key} ({version_id}): {exc}") from exc
        return head  # type: ignore[no-any-return]

    def set_legal_hold(self, key: str, version_id: str, *, on: bool) -> None:
        try:
            self._client.put_object_legal_hold(Bucket=self.name, Key=key, VersionId=version_id,
                                               LegalHold={"Status": "ON" if on else "OFF"})
        except Exception as exc:
            raise ObjectStoreError(f"bucket {self.url}: legal hold of {key} not changed: {exc}") from exc

    def delete_version(self, key: str, version_id: str) -> None:
        """Delete one version; the store refuses while it is locked or held."""
        try:
            self._client.delete_object(Bucket=self.name, Key=key, VersionId=version_id)
        except Exception as exc:
            raise ObjectStoreError(f"bucket {self.url}: {key} ({version_id}) not deleted: {exc}") from exc

    def size(self, key: str, version_id: str) -> int:
        return int(self.describe(key, version_id)["ContentLength"])

    def stream(self, key: str, version_id: str | None = None, *,
               byte_range: tuple[int, int] | None = None) -> Iterator[bytes]:
        """The object's bytes in chunks (``byte_range``: first and last byte), never held whole."""
        extra: dict[str, str] = {"VersionId": version_id} if version_id else {}
        if byte_range is not None:
            extra["Range"] = f"bytes={byte_range[0]}-{byte_range[1]}"
        try:
            body = self._client.get_object(Bucket=self.name, Key=key, **extra)["Body"]
        except Exception as exc:
            raise ObjectStoreError(f"bucket {self.url}: cannot read {key}: {exc}") from exc
        try:
            yield from body.iter_chunks(CHUNK)
        finally:
            body.close()

    def read_version(self, key: str, version_id: str) -> Iterator[bytes]:
        """``evidence``'s ``ObjectReader``: one version streamed, failures as OSError."""
        try:
            yield from self.stream(key, version_id)
        except ObjectStoreError as exc:
            raise OSError(str(exc)) from exc

    def put_small(self, key: str, data: bytes, *, retain_until: datetime) -> str:
        """A small locked object (a checkpoint); returns its version id."""
        import hashlib

        digest = hashlib.sha256(data).hexdigest()
        try:
            reply = self._client.put_object(
                Bucket=self.name, Key=self.key_for(key), Body=data, ChecksumSHA256=sha256_base64(digest),
                ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=retain_until)
        except Exception as exc:
            raise OSError(f"bucket {self.url}: {key} not written: {exc}") from exc
        return str(reply.get("VersionId", ""))

    def list_keys(self, under: str) -> list[str]:
        keys: list[str] = []
        try:
            for page in self._client.get_paginator("list_objects_v2").paginate(
                    Bucket=self.name, Prefix=self.key_for(under)):
                keys.extend(item["Key"] for item in page.get("Contents", []))
        except Exception as exc:
            raise OSError(f"bucket {self.url}: cannot list {under}: {exc}") from exc
        return sorted(keys)

    def read_small(self, full_key: str) -> bytes:
        try:
            return b"".join(self.stream(full_key))
        except ObjectStoreError as exc:
            raise OSError(str(exc)) from exc


def version_reader(objects: Objects | None) -> Callable[[str, str], Iterator[bytes]] | None:
    """``evidence``'s ``ObjectReader`` for the site's store (None without one). It connects only
    when a clip is actually read from the store, so a site whose clips are all local needs no
    credentials; a store that cannot be reached is an OSError like any unreadable file."""
    if objects is None:
        return None
    configured = objects

    def read(key: str, version_id: str) -> Iterator[bytes]:
        try:
            bucket = Bucket(configured)
        except ObjectStoreError as exc:
            raise OSError(str(exc)) from exc
        yield from bucket.read_version(key, version_id)

    return read


def _code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))
