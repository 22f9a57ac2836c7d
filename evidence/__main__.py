"""``python -m evidence verify FILE.zip``: the offline bundle verifier, with no other package.

Exit status: 0 verified and signed by a key you trust; 1 failed or not trusted; 2 usage
error; 3 verified but UNPINNED (no --trust given: compare the printed fingerprint with the
site's card).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from evidence.bundle import verify_bundle
from evidence.bundle_format import CASE_BUNDLE_TYPE
from evidence.case_bundle import bundle_kind, verify_case_bundle
from evidence.errors import EvidenceError, VerificationError
from evidence.outcome import EXIT_FAILED, EXIT_USAGE, anchors, exit_status, verdict_lines
from evidence.timestamps import load_roots


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evidence", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    verify = commands.add_parser("verify", help="verify an export bundle (.zip) offline")
    verify.add_argument("bundle", type=Path, help="the bundle file")
    verify.add_argument("--json", action="store_true", help="print the result as JSON")
    verify.add_argument("--trust", action="append", metavar="FINGERPRINT",
                        help="fingerprint of a site key you trust, from the site's printed card (repeatable)")
    verify.add_argument("--trust-file", type=Path, metavar="FILE",
                        help="a file of trusted fingerprints, one a line (# comments); the card's .txt is one")
    verify.add_argument("--tsa-ca", type=Path, metavar="PEM",
                        help="root certificates of the timestamp authorities you trust (from the authorities)")
    args = parser.parse_args(argv)
    try:
        trusted = anchors(args.trust, args.trust_file)
        roots = load_roots(args.tsa_ca) if args.tsa_ca else None
    except (ValueError, EvidenceError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not args.bundle.is_file():
        print(f"error: {args.bundle}: no such file", file=sys.stderr)
        return EXIT_USAGE
    verifier = verify_case_bundle if bundle_kind(args.bundle) == CASE_BUNDLE_TYPE else verify_bundle
    try:
        report = verifier(args.bundle, trusted_keys=trusted, timestamp_roots=roots)
    except VerificationError as exc:
        if args.json:
            print(json.dumps({"ok": False, "error": type(exc).__name__, "message": str(exc)}))
        else:
            print(f"FAILED: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(report.summary())
        print("\n".join(verdict_lines(report)))
    return exit_status(report)


if __name__ == "__main__":
    sys.exit(main())
