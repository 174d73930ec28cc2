"""live.db-tls: the application's connections to PostgreSQL are encrypted with TLS.

Reads pg_stat_ssl joined to pg_stat_activity from the server's side, so it sees
how the application really connected, not how it is configured to. The DSN
comes from the variable named by live.database_dsn_env and is never printed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from harness import redact
from harness.checks.base import check, finding
from harness.context import Context
from harness.model import Evidence, Finding, Outcome

ID = "live.db-tls"
APP_NAME = "harness-verifier"
QUERY = """
SELECT a.pid, a.usename, a.application_name, host(a.client_addr) AS client_addr, a.backend_start::text,
       s.ssl, s.version, s.cipher, s.bits
FROM pg_stat_activity a JOIN pg_stat_ssl s ON s.pid = a.pid
WHERE a.backend_type = 'client backend' AND a.pid <> pg_backend_pid() AND a.application_name <> %s
ORDER BY a.backend_start
LIMIT 500
"""
OWN = "SELECT s.ssl, s.version, s.cipher FROM pg_stat_ssl s WHERE s.pid = pg_backend_pid()"


def read_connections(dsn: str, timeout: float) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(other client connections with their TLS state, our own connection's TLS state)."""
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(
        dsn, connect_timeout=max(1, int(timeout)), application_name=APP_NAME, row_factory=dict_row
    ) as conn:
        conn.execute(f"SET statement_timeout = {int(max(1, timeout) * 1000)}")
        others = conn.execute(QUERY, (APP_NAME,)).fetchall()
        own = conn.execute(OWN).fetchone() or {}
    return [dict(r) for r in others], dict(own)


def judge(rows: list[dict[str, Any]], own: dict[str, Any], app_users: list[str]) -> tuple[Outcome, str]:
    """Outcome and reason from the server's view of the connections (pure, unit-tested)."""
    if app_users:
        rows = [r for r in rows if r.get("usename") in app_users]
    if not rows:
        who = f" from {', '.join(app_users)}" if app_users else ""
        return Outcome.COULD_NOT_CHECK, f"no application connection{who} is open on the database right now"
    unknown = [r for r in rows if r.get("ssl") is None]
    tcp = [r for r in rows if r.get("client_addr")]
    plain = [r for r in tcp if r.get("ssl") is False]
    if plain:
        names = ", ".join(sorted({f"{r.get('usename')}@{r.get('client_addr')}" for r in plain}))
        return Outcome.FAIL, f"{len(plain)} of {len(tcp)} TCP connections are not encrypted ({names})"
    if unknown:
        return (
            Outcome.COULD_NOT_CHECK,
            f"the TLS state of {len(unknown)} connections is hidden from this database user "
            "(grant it pg_read_all_stats)",
        )
    if not tcp:
        return Outcome.PASS, f"all {len(rows)} application connections use a local socket (no network transit)"
    versions = ", ".join(sorted({str(r.get("version")) for r in tcp}))
    return Outcome.PASS, f"all {len(tcp)} application TCP connections use TLS ({versions})"


@check(
    ID,
    title="The application's database connections are encrypted with TLS",
    failure_title="The application talks to its database without TLS",
    proves="Data travelling between the application and its database is encrypted too, not only at the edge (DS-1).",
    remediation=(
        "Enable ssl on the PostgreSQL server (ssl = on with a certificate) and connect with sslmode=verify-full "
        "(or at least require); optionally refuse plain connections with `hostssl` lines in pg_hba.conf."
    ),
    source="live",
    timeout=30,
)
def run(ctx: Context) -> Iterator[Finding]:
    live = ctx.config.live
    var = live.database_dsn_env
    dsn = os.environ.get(var, "") if var else ""
    if not dsn:
        why = f"the variable {var} is empty or unset" if var else "live.database_dsn_env is not set"
        yield finding(
            ID,
            Outcome.NOT_APPLICABLE,
            f"no database DSN configured ({why}): the database is not exposed to this check; "
            "DS-1 then rests on live.tls and live.https-redirect",
            [Evidence(kind="note", summary="database DSN", data={"database_dsn_env": var})],
        )
        return
    _register_secrets(dsn)
    try:
        rows, own = read_connections(dsn, ctx.bounded(live.connect_timeout_s))
    except Exception as exc:  # psycopg errors, bad DSN: no verdict, and never the DSN itself
        message = redact.text(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
        yield finding(
            ID,
            Outcome.COULD_NOT_CHECK,
            f"cannot query the database named by ${var}: {message[:300]}",
            remediation=f"Check that ${var} holds a DSN reachable from where harness runs.",
        )
        return
    outcome, reason = judge(rows, own, live.database_app_users)
    evidence = [
        Evidence(
            kind="note",
            summary=f"{len(rows)} other client connections (pg_stat_ssl join pg_stat_activity)",
            data={"connections": rows[:50], "harness_connection": own, "dsn_from": f"${var}"},
        )
    ]
    yield finding(ID, outcome, reason, evidence)


def _register_secrets(dsn: str) -> None:
    redact.register(dsn)
    try:
        from psycopg.conninfo import conninfo_to_dict

        password = conninfo_to_dict(dsn).get("password")
        if password:
            redact.register(str(password))
    except Exception:  # a DSN psycopg cannot parse: the whole string is already registered
        pass
