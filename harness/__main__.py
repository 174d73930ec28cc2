"""`python -m harness` runs the command-line interface (handy under profilers and in minimal images)."""

import sys

from harness.cli import main

sys.exit(main())
