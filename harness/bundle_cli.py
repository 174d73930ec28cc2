"""`harness keygen`, `harness bundle RUN_DIR`, `harness bundle verify BUNDLE --key PUB` (offline)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from harness.config import ConfigError

EXIT_OK, EXIT_FAILED = 0, 1


def cmd_keygen(args: argparse.Namespace) -> int:
    from harness.bundle import BundleError, keygen

    try:
        key, pub = keygen(args.out)
    except (BundleError, OSError) as exc:
        raise ConfigError(str(exc)) from None
    print(f"wrote {key} (private: keep it secret) and {pub} (public: give it to whoever verifies)")
    return EXIT_OK


def cmd_bundle(args: argparse.Namespace) -> int:
    from harness import bundle

    words = list(args.target)
    if words[0] == "verify":
        if len(words) != 2 or args.key is None:
            raise ConfigError("usage: harness bundle verify BUNDLE --key PUBLIC_KEY")
        try:
            key = bundle.load_public(args.key)
        except bundle.BundleError as exc:
            raise ConfigError(str(exc)) from None
        try:
            result = bundle.verify(Path(words[1]), key)
        except bundle.BundleError as exc:
            print(f"harness: bundle does NOT verify: {exc}", file=sys.stderr)
            return EXIT_FAILED
        print(f"bundle verifies: {result.files} files signed, commit {result.commit or 'unknown'}, AM1 {result.am1}")
        return EXIT_OK
    if len(words) != 1 or args.key is None:
        raise ConfigError("usage: harness bundle RUN_DIR --key PRIVATE_KEY [--out BUNDLE]")
    run_dir = Path(words[0])
    out = args.out or run_dir / "harness-bundle.tar"
    try:
        path = bundle.build(run_dir, bundle.load_signer(args.key), out)
    except (bundle.BundleError, OSError) as exc:
        raise ConfigError(str(exc)) from None
    print(f"wrote {path}")
    return EXIT_OK


def register(sub: Any) -> None:
    p = sub.add_parser("keygen", help="make an Ed25519 key pair for signing evidence bundles")
    p.add_argument("--out", type=Path, default=Path("harness-signing"), help="PREFIX: writes PREFIX.key, PREFIX.pub")
    p.set_defaults(handler=cmd_keygen)
    p = sub.add_parser("bundle", help="sign a run's reports into one archive; `bundle verify` checks one")
    p.add_argument("target", nargs="+", metavar="RUN_DIR | verify BUNDLE")
    p.add_argument("--key", type=Path, default=None, help="private key to sign with; public key to verify with")
    p.add_argument("--out", type=Path, default=None, help="the archive to write (default: RUN_DIR/harness-bundle.tar)")
    p.set_defaults(handler=cmd_bundle)
