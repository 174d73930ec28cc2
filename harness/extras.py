"""Optional dependencies: which extra of the distribution brings which import, and the one-line advice.

The core (repository checks, every report) installs with `pip install st0825-harness`; the live
probes and the lab need `[live]` and `[lab]`. A check whose import is missing says which extra to
install (a could-not-check finding), never an ImportError.
"""

from __future__ import annotations

DISTRIBUTION = "st0825-harness"
# top-level import name -> the extra that installs it
EXTRA_OF = {
    "sslyze": "live",
    "cryptography": "live",
    "psycopg": "live",
    "docker": "live",
    "prometheus_client": "live",
    "pulumi": "lab",
    "pulumi_docker": "lab",
}


def install_line(extra: str) -> str:
    return f"pipx install '{DISTRIBUTION}[{extra}]' (or pip install '{DISTRIBUTION}[{extra}]')"


def missing_extra(exc: ImportError) -> tuple[str, str] | None:
    """(missing module, extra) when `exc` is a known optional dependency being absent, else None."""
    name = (exc.name or "").split(".")[0]
    extra = EXTRA_OF.get(name)
    return (name, extra) if extra else None
