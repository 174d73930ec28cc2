"""repo.persistence: a real data store on durable storage, a durable IaC state backend, and backups.

A hosted or managed database reached by a connection string (PostgreSQL, MySQL, MongoDB Atlas, Cosmos
DB, DynamoDB, Firestore) is persistence, and so is an ORM named in a dependency manifest (requirements
files, pyproject, Pipfile, package.json): the store outlives the instance by construction. Storage
that only holds infrastructure state (a Terraform backend bucket or lock table, Pulumi state) is not
the application's data store.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from harness.checks.base import check, finding
from harness.checks.repo.data_stores import orm_and_managed
from harness.context import Context
from harness.model import Evidence, Finding, Outcome
from harness.probes import inventory
from harness.probes.repository import RepoFile, RepoSnapshot

ID = "repo.persistence"
SHOWN = 8

STORE_IMAGES = re.compile(
    r"^([\w.-]+/)*(postgres|postgis|mysql|mariadb|mongo|mongodb|couchdb|cassandra|neo4j"
    r"|influxdb|elasticsearch|opensearch|minio|mssql|cockroach|timescaledb|rabbitmq)\b",
    re.I,
)
REDIS_IMAGE = re.compile(r"^([\w.-]+/)*(redis|valkey|keydb)\b", re.I)
# Data stores in infrastructure code and application code.
STORE = re.compile(
    r"(aws_db_instance|aws_rds_cluster|aws_dynamodb_table|aws_s3_bucket\b|aws_efs_file_system|azurerm_(postgresql|mysql"
    r"|mssql|cosmosdb|storage_account|redis_cache)\w*|google_sql_database_instance|google_storage_bucket"
    r"|AWS::(RDS|DynamoDB|S3|EFS)::\w+|Microsoft\.(DBforPostgreSQL|DBforMySQL|DocumentDB|Sql|Storage)/\w+"
    r"|\b(aws\.)?(rds\.(Instance|Cluster)|dynamodb\.Table|s3\.(Bucket|BucketV2))\b|dbforpostgresql|documentdb"
    r"|\bpsycopg2?\b|\basyncpg\b|\bpymongo\b|\bmotor\b|\bmongoose\b|\bmysql\.connector|\bpymysql\b|postgres(ql)?://"
    r"|mongodb(\+srv)?://|mysql://|\bsqlite3\.connect\(|sqlite:///(?!:memory:)|\bboto3\.(resource|client)\(['\"]"
    r"(dynamodb|s3)|\bfrom ['\"](pg|mongodb|mysql2)['\"]|require\(['\"](pg|mongodb|mysql2)['\"]\)|gorm\.Open"
    r"|\b(community\.(postgresql|mysql)\.)?(postgresql_db|mysql_db)\s*:"
    r"|\bazure\.cosmos\b|@azure/cosmos|\bsqlalchemy\.create_engine\(|\bcreate_engine\()"
)
DURABLE = re.compile(
    r"(kind:\s*PersistentVolumeClaim|volumeClaimTemplates|\bdocker_volume\b|docker\.Volume\(|docker\.RemoteVolume"
    r"|aws_ebs_volume|aws_efs_file_system|azurerm_storage_share|azurerm_managed_disk|aws_db_instance|aws_rds_cluster"
    r"|aws_dynamodb_table|azurerm_(postgresql|mysql|cosmosdb)\w*|AWS::(RDS|DynamoDB|EFS)::\w+|rds\.(Instance|Cluster)"
    r"|dynamodb\.Table|Microsoft\.(DBforPostgreSQL|DBforMySQL|DocumentDB)/\w+|google_sql_database_instance"
    r"|storageClassName"
    r"|\b(community\.(postgresql|mysql)\.)?(postgresql_db|mysql_db)\s*:)"  # a database on a host's own disk
)
BACKUP = re.compile(
    r"(\bpg_dump(all)?\b|\bpg_restore\b|\bpg_basebackup\b|\bmysqldump\b|\bmongodump\b|\bmongorestore\b|redis-cli\b.*"
    r"(--rdb|BGSAVE)|backup_retention_period|backup_retention_days|aws_backup_plan|point_in_time_recovery"
    r"|geo_redundant_backup|\bsnapshot_identifier\b|\bborg\s+create|az\s+backup"
    # Velero and restic as tools at work (a command or Velero's API group), not the word in prose or data.
    r"|(?-i:\bvelero\s+(backup|schedule|restore)\s+create\b)|\bvelero\.io/"
    r"|(?-i:\brestic\s+(-\S+\s+\S+\s+)*(backup|restore)\b)"
    r"|BackupRetentionPeriod|\bwal-g\b|\bpgbackrest\b|\bbackup_window\b)",
    re.I,
)
TF_BACKEND = re.compile(r"""^\s*(backend\s+"(\w+)"|cloud\s*\{)""")
PULUMI_BACKEND = re.compile(
    r"(pulumi\s+login\s+(\S+)|PULUMI_BACKEND_URL\s*[:=]\s*\S+|^\s*url:\s*(s3|azblob|gs|file|https)://\S*"
    r"|PULUMI_ACCESS_TOKEN)"
)
# A bucket, storage account or table that holds infrastructure state (or its lock), not application data.
IAC_STATE = re.compile(
    r"(?i)(tf[-_]?state|terraform[-_. ]?(state|lock)|pulumi[-_. ]?state|state[-_]?(bucket|store|lock)|LockID)"
)
# Storage for backups only: named for them, or declared beside Velero in a backup folder.
BACKUP_NAME = re.compile(r"(?i)backup|velero|snapshot")
BACKUP_PATH = re.compile(r"(?i)(^|/)[^/]*(backup|velero)[^/]*(/|$)")
# Routes that accept writes (Flask, FastAPI, Express, Spring, ASP.NET, Django views): a service with one has data.
WRITES = re.compile(
    r"(methods\s*=\s*\[[^\]]*['\"](POST|PUT|PATCH)['\"]|@(app|router|api|bp|blueprint)\.(post|put|patch)\("
    r"|\b(app|router)\.(post|put|patch)\(\s*['\"`]/|@(Post|Put|Patch)Mapping\b|\[Http(Post|Put|Patch)\b"
    r"|\.Map(Post|Put|Patch)\(|^\s*def (post|put|patch)\(self\b)",
    re.M,
)
STORAGE_NAMES = re.compile(r'^\s*resource\s+"\w+"\s+"([^"]+)"|^\s*(?:bucket|name)\s*=\s*"([^"]+)"', re.M)
STATE_KINDS = re.compile(r"(aws_s3_bucket|azurerm_storage_account|google_storage_bucket|aws_dynamodb_table|s3\.Bucket)")
SKIP_SUFFIXES = {".md", ".rst", ".txt", ".lock", ".svg", ".png", ".jpg", ".html", ".css"}


def _scannable(f: RepoFile) -> bool:
    parts = {p.lower() for p in f.folders}
    return (
        f.is_regular
        and f.suffix not in SKIP_SUFFIXES
        and not inventory.is_vendored(f.path)
        and not (parts & {"tests", "test", "__tests__", "docs"})
        and f.name not in ("package-lock.json", "poetry.lock", "yarn.lock")
    )


def _matched(pattern: re.Pattern[str], line: str) -> str:
    """The text `pattern` matches in a line that inventory.grep returned for it (so it always matches)."""
    m = pattern.search(line)
    assert m is not None, "inventory.grep returns only lines that match"
    return m.group(0)


def _compose_stores(ctx: Context, repo: RepoSnapshot) -> tuple[list[Evidence], list[Evidence], list[Evidence]]:
    """Stores, durable volumes and in-memory-only stores found in compose files."""
    stores, durable, volatile = [], [], []
    for c in inventory.compose_files(ctx, repo):
        if c.error:
            continue
        top_volumes = c.data.get("volumes")
        named = top_volumes if isinstance(top_volumes, dict) else {}
        for name, svc in c.services.items():
            image = str(svc.get("image", ""))
            mounts = [v for v in svc.get("volumes", []) or [] if v]
            targets = []
            for m in mounts:
                src = (
                    m.split(":", 1)[0]
                    if isinstance(m, str)
                    else str(m.get("source", ""))
                    if isinstance(m, dict)
                    else ""
                )
                if src and (src in named or src.startswith((".", "/", "~"))):
                    targets.append(src)
            line = c.line_of_key(name, "services")
            command = str(svc.get("command", ""))
            if REDIS_IMAGE.match(image):
                if "appendonly yes" in command or "--save" in command or targets:
                    stores.append(
                        inventory.evidence_at(repo, c.path, line, f"compose service {name}: {image} with persistence")
                    )
                else:
                    volatile.append(
                        inventory.evidence_at(
                            repo, c.path, line, f"compose service {name}: {image} keeps data in memory only"
                        )
                    )
                    continue
            elif STORE_IMAGES.match(image):
                stores.append(inventory.evidence_at(repo, c.path, line, f"compose service {name}: {image}"))
            else:
                continue
            for src in targets:
                kind = "named volume" if src in named else "bind mount"
                durable.append(
                    inventory.evidence_at(repo, c.path, line, f"compose service {name} stores data on {kind} {src}")
                )
    return stores, durable, volatile


def _state_names(repo: RepoSnapshot) -> set[str]:
    """Bucket and storage-account names that Terraform backends keep state in."""
    names: set[str] = set()
    backend = re.compile(r'backend\s+"(?:s3|gcs|azurerm)"\s*\{(.*?)\n\s*\}', re.S)
    for _f, text in repo.texts([f for f in repo.files if f.suffix == ".tf"]):
        for block in backend.findall(text):
            names.update(re.findall(r'(?:bucket|storage_account_name|container_name)\s*=\s*"([^"]+)"', block))
    return names


def _declaration(repo: RepoSnapshot, path: str, line: int) -> str:
    """The declaration starting at `line` (up to the next one, at most 20 lines)."""
    lines = (repo.read_text(path) or "").splitlines()
    block = [lines[line - 1]] if 0 < line <= len(lines) else []
    for ln in lines[line : line + 20]:
        if re.match(r"\s*(resource|module|data)\s|\s*\w+\s*=\s*\w+\.\w+\.\w+\(", ln):
            break  # the next declaration
        block.append(ln)
    return "\n".join(block)


def _holds_state(repo: RepoSnapshot, path: str, line: int, text: str, state_names: set[str]) -> bool:
    """A bucket, storage account or table whose declaration says it holds IaC state or its lock."""
    if not STATE_KINDS.search(text):
        return False
    joined = _declaration(repo, path, line)
    return bool(IAC_STATE.search(joined)) or any(f'"{n}"' in joined for n in state_names)


def _holds_backups(repo: RepoSnapshot, path: str, line: int, text: str) -> bool:
    """Storage that only receives backups (a bucket named for them, a volume in Velero's or a backup folder's
    manifests): a backup of the data, not the store the service uses (a backup of nothing is no persistence)."""
    if "velero.io" in (repo.read_text(path) or "") or BACKUP_PATH.search(path):
        return bool(STATE_KINDS.search(text) or re.search(r"storageClassName|PersistentVolumeClaim", text))
    if not STATE_KINDS.search(text):
        return False
    names = STORAGE_NAMES.findall(_declaration(repo, path, line))
    return any(BACKUP_NAME.search(n) for pair in names for n in pair if n)


@check(
    ID,
    title="A real data store keeps its data on durable storage",
    failure_title="No durable data store: data would be lost when an instance is replaced",
    proves="The service's data and the infrastructure state outlive any one instance and can be restored (DP-1).",
    remediation=(
        "Store data in a real database (PostgreSQL, MySQL, MongoDB, DynamoDB, Cosmos DB, S3 ...) on a named volume, "
        "a persistent volume claim or a managed service, keep IaC state in a remote backend, and script backups "
        "and restores (pg_dump/pg_restore or managed snapshots)."
    ),
    source="repository",
    timeout=90,
)
def run(ctx: Context) -> Iterator[Finding]:
    repo, problem = inventory.open_snapshot(ctx)
    if repo is None:
        yield finding(ID, Outcome.COULD_NOT_CHECK, problem or "no repository")
        return
    files = [f for f in repo.own_files if _scannable(f)]
    stores, durable, volatile = _compose_stores(ctx, repo)
    # The repository runs its own database container without a volume: an ORM or driver does not make it durable.
    own_ephemeral_db = bool(stores) and not durable
    state_names = _state_names(repo)
    state_only: list[Evidence] = []
    for hit in inventory.grep(repo, files, STORE, limit=40):
        if _holds_state(repo, hit.path, hit.line, hit.text, state_names):
            state_only.append(
                inventory.evidence_at(repo, hit.path, hit.line, "holds IaC state, not app data", hit.text)
            )
            continue
        if _holds_backups(repo, hit.path, hit.line, hit.text):
            state_only.append(inventory.evidence_at(repo, hit.path, hit.line, "holds backups, not app data", hit.text))
            continue
        stores.append(
            inventory.evidence_at(
                repo,
                hit.path,
                hit.line,
                f"data store: {_matched(STORE, hit.text)}",
                hit.text,
            )
        )
    for hit in inventory.grep(repo, files, DURABLE, limit=20):
        if _holds_state(repo, hit.path, hit.line, hit.text, state_names) or _holds_backups(
            repo, hit.path, hit.line, hit.text
        ):
            continue
        durable.append(
            inventory.evidence_at(repo, hit.path, hit.line, f"durable storage: {_matched(DURABLE, hit.text)}", hit.text)
        )
    ctx.check_deadline()
    state = list(_state_backend(ctx, repo))
    broken = [c for c in inventory.compose_files(ctx, repo) if c.error]
    managed = orm_and_managed(ctx, repo, files)
    evidence = stores[:SHOWN] + durable[:SHOWN] + volatile[:3] + state_only[:2]
    if managed and not own_ephemeral_db:
        yield finding(
            ID,
            Outcome.PASS,
            f"{managed[0].summary}: a managed or ORM-backed database keeps the data beyond any instance",
            managed[:SHOWN] + evidence,
        )
    elif not stores:
        if broken:
            yield finding(
                ID,
                Outcome.COULD_NOT_CHECK,
                "no data store found, and compose files could not be parsed: " + ", ".join(c.path for c in broken),
                evidence + [inventory.evidence_at(repo, c.path, 1, c.error or "") for c in broken],
            )
        elif not volatile and (backend := _explicit_backend(state)) and not inventory.grep(repo, files, WRITES, 1):
            # DP-1 names "configuration/infrastructure state management" beside databases: a service that keeps no
            # data of its own (no route that writes), with its IaC state in a remote backend, employs the persistence
            # it needs. One that accepts writes and keeps them nowhere durable (a list in memory) does not.
            yield finding(
                ID,
                Outcome.WARN,
                "no application data store found: the service appears to keep no data of its own; its persistence "
                f"is the infrastructure state kept in a remote backend ({backend.excerpt or backend.summary})",
                [backend, *evidence],
                remediation="If the service does keep data, store it in a real database on durable storage; "
                "otherwise be ready to explain to the assessor why state management is the persistence it needs.",
            )
        else:
            why = " (only in-memory stores)" if volatile else ""
            why += " (storage found holds only infrastructure state or backups)" if state_only else ""
            yield finding(ID, Outcome.FAIL, f"no data store in code, infrastructure or compose files{why}", evidence)
    elif not durable:
        yield finding(
            ID,
            Outcome.FAIL,
            f"{len(stores)} data store reference(s), but no named volume, persistent "
            "volume or managed storage that outlives an instance",
            evidence,
        )
    else:
        yield finding(
            ID, Outcome.PASS, f"data store with durable storage: {stores[0].summary}; {durable[0].summary}", evidence
        )
    yield from _backups(repo, files)
    yield from state


def _explicit_backend(state: list[Finding]) -> Evidence | None:
    """A remote state backend the project configured itself (not state the cloud provider keeps implicitly)."""
    for f in state:
        if f.outcome is Outcome.PASS:
            for e in f.evidence:
                if e.summary in ("Terraform state backend", "Pulumi backend"):
                    return e
    return None


def _backups(repo: RepoSnapshot, files: list[RepoFile]) -> Iterator[Finding]:
    hits = inventory.grep(repo, files, BACKUP, limit=10)
    if hits:
        ev = [inventory.evidence_at(repo, h.path, h.line, "backup or restore", h.text) for h in hits[:SHOWN]]
        yield finding(
            ID, Outcome.PASS, f"backup/restore automation: {hits[0].path}:{hits[0].line}", ev, subject="backup"
        )
    else:
        yield finding(
            ID,
            Outcome.WARN,
            "no backup or restore script or setting (pg_dump/pg_restore, snapshots, backup retention)",
            remediation="Script a backup and a tested restore of the data store, or "
            "enable managed backups in the infrastructure code.",
            subject="backup",
        )


def _state_backend(ctx: Context, repo: RepoSnapshot) -> Iterator[Finding]:
    inv = inventory.iac(ctx, repo)
    kinds = {f.kind for f in inv.hosted}
    ev: list[Evidence] = []
    local: list[Evidence] = []
    if "terraform" in kinds:
        tf = [f for i in inv.of("terraform") if (f := repo.get(i.path))]
        for h in inventory.grep(repo, tf, TF_BACKEND, limit=5):
            m = TF_BACKEND.search(h.text)
            target = ev if not (m and m.group(2) == "local") else local
            target.append(inventory.evidence_at(repo, h.path, h.line, "Terraform state backend", h.text))
    if "pulumi" in kinds:
        pool = [
            f
            for f in repo.files
            if f.name.startswith("Pulumi.")
            or f.path.startswith(".github/workflows/")
            or f.suffix in (".sh", ".yml", ".yaml", ".toml")
            or f.name in ("Makefile", "justfile")
        ]
        for h in inventory.grep(repo, pool, PULUMI_BACKEND, limit=5):
            durable = "--local" not in h.text and "file://~" not in h.text
            (ev if durable else local).append(inventory.evidence_at(repo, h.path, h.line, "Pulumi backend", h.text))
    if kinds & {"cloudformation", "cdk", "bicep", "arm"}:
        ev.append(
            inventory.evidence_at(
                repo,
                inv.of("cloudformation", "cdk", "bicep", "arm")[0].path,
                1,
                "state is kept by the cloud provider (CloudFormation / Azure deployments)",
            )
        )
    stateful = kinds & {"terraform", "pulumi", "cloudformation", "cdk", "bicep", "arm"}
    if not stateful:
        yield finding(ID, Outcome.NOT_APPLICABLE, "no infrastructure-as-code that keeps state", subject="state")
    elif ev:
        yield finding(
            ID,
            Outcome.PASS,
            f"infrastructure state kept in a durable backend: {ev[0].excerpt or ev[0].summary}",
            ev + local,
            subject="state",
        )
    else:
        yield finding(
            ID,
            Outcome.WARN,
            "infrastructure state is local only: no remote backend configured",
            local,
            remediation='Configure a remote state backend (Terraform backend "s3"/"azurerm", '
            "`pulumi login s3://...` or Pulumi Cloud) so that state survives the machine.",
            subject="state",
        )
