"""`harness lab up|redeploy|down|status|fault|restore` and `harness demo` (registered by harness.cli)."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Any

from harness.config import VALID_FORMATS
from harness.lab.settings import VARIANTS

DEMO_FORMATS = ["terminal", "json", "html"]
BREAK_HELP = "deploy a deliberately broken variant (for testing the checks); `lab up` alone restores the normal lab"


def _setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="lab: %(message)s", stream=sys.stderr)
    for noisy in ("urllib3", "docker"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def cmd_lab(args: argparse.Namespace) -> int:
    from harness import extras

    try:
        from harness.lab import endpoints, lab
    except ImportError as exc:
        if extras.missing_extra(exc) is None:
            raise
        print(f"harness lab: {exc.name} is not installed: install {extras.DISTRIBUTION}[lab]", file=sys.stderr)
        return 2
    from harness.lab.settings import Paths

    variant = getattr(args, "variant", None) or ""
    _setup_logging()
    paths = Paths.default()
    started = time.monotonic()
    try:
        if args.lab_command == "up":
            result = lab.up(paths, variant)
            print(
                f"lab up{' (broken: ' + variant + ')' if variant else ''}: {result['commit'][:12]} "
                f"serving after {result['seconds']} s"
            )
            print(endpoints.summary(paths))
        elif args.lab_command == "redeploy":
            result = lab.redeploy(paths, args.git_dir, args.commit, variant)
            print(f"redeployed {result['commit'][:12]} ({result['image'][7:19]}) in {result['seconds']} s")
        elif args.lab_command == "fault":
            print(f"stopped {lab.fault(paths)}")
        elif args.lab_command == "restore":
            print("started " + (", ".join(lab.restore(paths)) or "nothing (no stopped instance)"))
        elif args.lab_command == "status":
            rows = lab.status(paths)
            for row in rows:
                print(f"{row['name']:42} {row['role']:14} {row['state']:10} {row['image']}")
            if not rows:
                print("the lab is not running")
        elif args.lab_command == "down":
            removed = lab.down(paths, volumes=args.volumes, remove_images=args.images)
            print(f"removed {len(removed)}: {', '.join(removed)}" if removed else "nothing to remove")
    except Exception as exc:  # report any failure as one line with the elapsed time; details are in the log
        logging.getLogger("harness.lab").debug("lab failed", exc_info=True)
        elapsed = time.monotonic() - started
        print(f"harness lab {args.lab_command}: failed after {elapsed:.0f} s: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Lab up, then every check against it; exits with verify's exit code."""
    from harness import cli
    from harness.lab.settings import Paths

    up = argparse.Namespace(lab_command="up")
    if cmd_lab(up) != 0:
        return 1
    from harness.lab import lab

    paths = Paths.default()
    lab.load_db_env(paths)
    argv = ["verify", "--repo", str(paths.repo), "--config", str(paths.config)]
    for fmt in args.formats or DEMO_FORMATS:
        argv += ["--format", fmt]
    argv += ["--out", str((args.out or Path("harness-report")).resolve())]
    if args.gate:
        argv += ["--gate", args.gate]
    return cli.main(argv)


def register(subparsers: Any) -> None:
    lab = subparsers.add_parser("lab", help="deploy the reference project on the local Docker engine")
    sub = lab.add_subparsers(dest="lab_command", required=True)
    p = sub.add_parser("up", help="bootstrap, build and start everything; wait until it serves")
    p.add_argument("--break", dest="variant", choices=VARIANTS, default=None, help=BREAK_HELP)
    p = sub.add_parser("redeploy", help="build a new app image and replace every instance without downtime")
    p.add_argument("--break", dest="variant", choices=VARIANTS, default=None, help=BREAK_HELP)
    p.add_argument("--git-dir", type=Path, default=None, help="deploy a commit from this git repository")
    p.add_argument("--commit", default=None, help="the commit to deploy (with --git-dir)")
    sub.add_parser("fault", help="stop one app instance (to see an alert fire)")
    sub.add_parser("restore", help="start stopped app instances again")
    sub.add_parser("status", help="list the lab's containers, images and health")
    p = sub.add_parser("down", help="remove the lab's containers and networks")
    p.add_argument("--volumes", action="store_true", help="also delete the database and CA volumes")
    p.add_argument("--images", action="store_true", help="also delete the lab's images")
    lab.set_defaults(handler=cmd_lab)

    demo = subparsers.add_parser("demo", help="lab up, then verify the reference project against it")
    demo.add_argument("--format", dest="formats", action="append", choices=VALID_FORMATS, help="report format")
    demo.add_argument("--out", type=Path, default=None, help="folder for report files (default: harness-report)")
    demo.add_argument("--gate", choices=("none", "pass", "distinction"), default=None)
    demo.set_defaults(handler=cmd_demo)
