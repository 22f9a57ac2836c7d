"""The bucket as a checkpoint witness: one locked object per checkpoint, which nobody on a node
can truncate or rewrite (``evidence.witness.Witness``)."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime, timedelta

from evidence.checkpoints import Checkpoint, Published
from evidence.errors import ChainError
from monitor.config.models import Config
from monitor.objects.bucket import Bucket

log = logging.getLogger(__name__)

FOLDER = "checkpoints/"
PAUSE_AFTER_FAILURE = 30.0  # seconds a store that failed is not asked again (seals must not wait on it)


class BucketWitness:
    """Checkpoints as ``<prefix>checkpoints/<size>-<time>.json``, each in COMPLIANCE mode for
    ``retain_days``. ``newest`` is remembered, so a seal never waits on the store for it."""

    def __init__(self, bucket: Bucket, *, retain_days: int) -> None:
        self.bucket = bucket
        self._retain = timedelta(days=retain_days)
        self._newest: Checkpoint | None = None
        self._loaded = False
        self._failed_at = -PAUSE_AFTER_FAILURE

    @property
    def name(self) -> str:
        return f"{self.bucket.url}/{self.bucket.key_for(FOLDER)}"

    def publish(self, published: Published) -> None:
        """Raises OSError when the store cannot take it (the caller logs it and carries on)."""
        if time.monotonic() - self._failed_at < PAUSE_AFTER_FAILURE:
            raise OSError(f"{self.name}: the store failed less than {PAUSE_AFTER_FAILURE:.0f} s ago")
        checkpoint = published.checkpoint
        data = json.dumps(published.to_json(), sort_keys=True, separators=(",", ":")).encode()
        key = f"{FOLDER}{checkpoint.size:012d}-{checkpoint.time.replace(':', '')}.json"
        try:
            self.bucket.put_small(key, data, retain_until=datetime.now(UTC) + self._retain)
        except OSError:
            self._failed_at = time.monotonic()
            raise
        if self._newest is None or checkpoint.size >= self._newest.size:
            self._newest = checkpoint

    def newest(self) -> Checkpoint | None:
        if not self._loaded and time.monotonic() - self._failed_at >= PAUSE_AFTER_FAILURE:
            try:
                keys = self.bucket.list_keys(FOLDER)
                if keys:
                    found = self._parse(keys[-1])  # sizes are zero-padded: the last key is the largest
                    if isinstance(found, Published):
                        self._newest = found.checkpoint
                self._loaded = True
            except OSError as exc:
                self._failed_at = time.monotonic()
                log.warning("checkpoint witness %s unreachable: %s", self.name, exc)
        return self._newest

    def checkpoints(self) -> list[Published | ChainError]:
        """Fails closed: a witness that cannot be read is a finding, not an empty witness."""
        try:
            return [self._parse(key) for key in self.bucket.list_keys(FOLDER)]
        except OSError as exc:
            return [ChainError(f"{self.name}: cannot read the checkpoint witness: {exc}")]

    def _parse(self, key: str) -> Published | ChainError:
        where = f"{self.bucket.url}/{key}"
        try:
            return Published.from_json(json.loads(self.bucket.read_small(key)), where)
        except ValueError as exc:
            return ChainError(f"{where}: malformed checkpoint ({exc})")
        except ChainError as exc:
            return exc

    def __repr__(self) -> str:
        return f"BucketWitness({self.name!r})"


def bucket_witnesses(config: Config) -> tuple[BucketWitness, ...]:
    """The site's bucket as a witness when ``storage.objects`` is set; checkpoints are kept as
    long as the clips they cover."""
    objects = config.storage.objects
    if objects is None:
        return ()
    return (BucketWitness(Bucket(objects, timeout=2.0), retain_days=config.storage.retention_days),)
