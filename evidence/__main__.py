"""``python -m evidence verify FILE.zip``: the offline bundle verifier, with no other package."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from evidence.bundle import verify_bundle
from evidence.bundle_format import CASE_BUNDLE_TYPE
from evidence.case_bundle import bundle_kind, verify_case_bundle
from evidence.errors import VerificationError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evidence", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    verify = commands.add_parser("verify", help="verify an export bundle (.zip) offline")
    verify.add_argument("bundle", help="the bundle file")
    verify.add_argument("--json", action="store_true", help="print the result as JSON")
    verify.add_argument("--trust", action="append", metavar="KEY_ID",
                        help="fingerprint of a site key you trust (repeatable); others are refused")
    args = parser.parse_args(argv)
    if bundle_kind(args.bundle) == CASE_BUNDLE_TYPE:
        return _verify_case(args.bundle, args.json, args.trust)
    try:
        report = verify_bundle(args.bundle, trusted_keys=args.trust)
    except VerificationError as exc:
        if args.json:
            print(json.dumps({"ok": False, "error": type(exc).__name__, "message": str(exc)}))
        else:
            print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(f"OK: clip {report.clip_id} sha256 {report.sha256} ({report.size} bytes), sealed "
              f"{report.sealed_at}; {report.entries} custody entries; exported {report.exported_at} "
              f"by {report.exported_by} for case {report.case}; signed by {report.signed_by}"
              + ("" if report.pinned else " (compare this fingerprint with the one the site published)"))
    return 0


def _verify_case(path: str, as_json: bool, trust: list[str] | None) -> int:
    try:
        report = verify_case_bundle(Path(path), trusted_keys=trust)
    except VerificationError as exc:
        if as_json:
            print(json.dumps({"ok": False, "error": type(exc).__name__, "message": str(exc)}))
        else:
            print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(report.to_json(), indent=2) if as_json else report.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
