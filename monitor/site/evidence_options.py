"""The evidence store's settings, read from the configuration in one place for every process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography import x509

from evidence.timestamps import load_roots
from monitor.config.models import Config
from monitor.objects.witness import bucket_witnesses


def store_options(config: Config) -> dict[str, Any]:
    """Keyword arguments of ``EvidenceStore.open`` beyond the folder and the engine."""
    storage, evidence = config.storage, config.evidence
    return {
        "checkpoint_every": storage.checkpoint_every,
        "checkpoint_interval": storage.checkpoint_interval,
        "witness": Path(storage.witness_path) if storage.witness_path else None,
        "witnesses": bucket_witnesses(config),
        "timestamp_authorities": tuple(evidence.timestamp_authorities),
        "timestamp_timeout": evidence.timestamp_timeout,
    }


def timestamp_roots(config: Config) -> list[x509.Certificate] | None:
    """The timestamp authorities' root certificates, when the configuration names them."""
    path = config.evidence.timestamp_ca_file
    return load_roots(Path(path)) if path else None
