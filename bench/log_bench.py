"""Log-integrity benchmarks: ``python bench/log_bench.py [--quick] [--json]``.

1. Seal latency with a checkpoint per seal: from closing a 60 s clip (written through the real
   ``ClipWriter``) to its SEALED entry, the Merkle tree update and the signed checkpoint being
   committed locally and in a witness folder, with a real RFC 3161 authority (OpenSSL's, on
   loopback) configured (target: at most 0.3 s). The log already holds ``backlog_entries``
   entries, so the tree's cost at size shows. For context: clip close -> the authority's token
   stored beside that checkpoint (fetched in the background).
2. Bundle verification with inclusion proofs and a timestamp token: ``verify_bundle`` on an
   exported bundle, against ``sha256sum`` of the same bundle file (target: at least 0.9x).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.table import Row, Spread, markdown
from bench.verify_bench import MIB, frames, timed
from evidence.actions import Action
from evidence.bundle import verify_bundle
from evidence.export import Disclosure, export_bundle
from evidence.hashing import sha256_file
from evidence.store import EvidenceStore
from evidence.timestamps import load_roots
from monitor.record import ClipWriter
from monitor.store.db import make_engine
from tests.fixtures.tsa import TimestampAuthority, make_authority


@dataclass(frozen=True)
class Plan:
    backlog_entries: int
    seals: int
    clip_seconds: float
    clip_size: tuple[int, int]
    bundle_mib: int
    runs: int


FULL = Plan(backlog_entries=2000, seals=10, clip_seconds=60.0, clip_size=(640, 360), bundle_mib=512, runs=3)
QUICK = Plan(backlog_entries=50, seals=3, clip_seconds=5.0, clip_size=(160, 120), bundle_mib=16, runs=1)


def open_store(root: Path, authority: TimestampAuthority) -> EvidenceStore:
    return EvidenceStore.open(root, make_engine(f"sqlite:///{root}/hotspot.db"), witness=root.parent / "witness",
                              timestamp_authorities=[authority.url])


def seal_rows(root: Path, plan: Plan, authority: TimestampAuthority) -> list[Row]:
    ev = open_store(root, authority)
    for index in range(plan.backlog_entries):
        ev.append(Action.VIEWED, actor="bench", clip_id=f"old{index % 50}")
    stamper = ev.timestamper
    assert stamper is not None
    stamper.run_once()
    fps = 25.0
    pattern = frames(plan.clip_size, 50)
    sealed, stamped = [], []
    for index in range(plan.seals):
        start = datetime(2026, 3, 2, 10, tzinfo=UTC) + timedelta(minutes=index)
        path = root / "clips" / "bench" / f"seal{index}.mp4"
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = ClipWriter(path, width=plan.clip_size[0], height=plan.clip_size[1], fps=fps, start=start)
        for n in range(int(plan.clip_seconds * fps)):
            writer.write(pattern[n % len(pattern)], start + timedelta(seconds=n / fps))
        begin = time.perf_counter()
        written = writer.close()
        ev.seal_clip(clip_id=f"seal{index}", path=path.relative_to(root).as_posix(), sha256=written.sha256,
                     size=written.size, metadata={"camera": "bench", "frame_count": written.frame_count})
        sealed.append(time.perf_counter() - begin)
        while stamper.backlog()[authority.url]:
            time.sleep(0.002)
        stamped.append(time.perf_counter() - begin)
    witness = [line for line in (root.parent / "witness" / "checkpoints.log").read_text().splitlines()]
    if len(witness) < plan.seals:
        raise SystemExit("the witness did not receive a checkpoint per seal")
    size = f"{plan.clip_seconds:.0f} s {plan.clip_size[0]}x{plan.clip_size[1]}, log of {plan.backlog_entries}+"
    return [
        Row(measure="clip close -> seal + witnessed checkpoint", size=size, ours=Spread.of(sealed), unit="s",
            target="<= 0.3 s", met=Spread.of(sealed).median <= 0.3 and max(sealed) <= 0.3, digits=3),
        Row(measure="clip close -> RFC 3161 token stored", size=size, ours=Spread.of(stamped), unit="s",
            note="in the background, loopback OpenSSL TSA", digits=3),
    ]


def bundle_rows(root: Path, plan: Plan, authority: TimestampAuthority) -> list[Row]:
    ev = open_store(root, authority)
    path = root / "clips" / "bench" / "big.mp4"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        for _ in range(plan.bundle_mib):
            handle.write(os.urandom(MIB))
    ev.seal_clip(clip_id="big", path=path.relative_to(root).as_posix(), sha256=sha256_file(path),
                 size=path.stat().st_size, metadata={"camera": "bench"})
    for index in range(plan.backlog_entries):
        ev.append(Action.VIEWED if index % 7 else Action.DOWNLOADED, actor="bench", clip_id="big")
    bundle = export_bundle(ev, "big", root / "big.zip", disclosure=Disclosure(
        case="bench", reason="benchmark", by="bench", recipient="bench", interest="measuring verification"))
    roots = load_roots(authority.ca_file)
    report = verify_bundle(bundle, timestamp_roots=roots)
    if not report.timestamps or report.merkle_root is None:
        raise SystemExit("the benchmark bundle carries no timestamp or proofs")
    megabytes = bundle.stat().st_size / 1e6
    ours = [timed(lambda: verify_bundle(bundle, timestamp_roots=roots)) for _ in range(plan.runs)]
    reference = [timed(lambda: subprocess.run(["sha256sum", str(bundle)], check=True, capture_output=True))
                 for _ in range(plan.runs)]
    rates, reference_rates = [megabytes / t for t in ours], [megabytes / t for t in reference]
    ratio = Spread.of([r / Spread.of(reference_rates).median for r in rates])
    return [Row(measure="verify_bundle (proofs + token)", size=f"{plan.bundle_mib} MiB, {report.entries} entries",
                ours=Spread.of(rates), unit="MB/s", reference=Spread.of(reference_rates),
                reference_name="sha256sum, same bundle", ratio=ratio, target=">= 0.9x", met=ratio.median >= 0.9,
                digits=0)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a short log, short clips, a small bundle, one run")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON instead of a table")
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    if shutil.which("sha256sum") is None or shutil.which("openssl") is None:
        parser.error("sha256sum and openssl are needed")
    with tempfile.TemporaryDirectory(prefix="log-bench-") as folder:
        authority = TimestampAuthority(make_authority(Path(folder) / "tsa"))
        try:
            rows = (seal_rows(Path(folder) / "seal" / "data", plan, authority)
                    + bundle_rows(Path(folder) / "bundle" / "data", plan, authority))
        finally:
            authority.close()
    if args.json:
        print(json.dumps([asdict(row) for row in rows], indent=2))
    else:
        print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
