"""The container HEALTHCHECK: exit 0 when the instance is ready. Python, because the image has no curl."""

from __future__ import annotations

import sys
import urllib.request

URL = "http://127.0.0.1:8000/readyz"


def main() -> int:
    try:
        with urllib.request.urlopen(URL, timeout=2) as resp:  # nosec B310 - a constant http URL
            return 0 if resp.status == 200 else 1
    except OSError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
