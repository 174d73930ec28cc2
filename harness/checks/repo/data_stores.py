"""What makes an application's data persistent without a volume in the repository (DP-1, issue 9).

An ORM named in a dependency manifest (requirements files, pyproject, Pipfile, package.json), a database
driver reaching a server by a connection string, a managed database client (Cosmos DB, DynamoDB,
Firestore), or a hosted database's connection string in code or configuration. Used by repo.persistence.
"""

from __future__ import annotations

import re
import tomllib

from harness.checks.repo.dependency_audit import manifest_dependencies
from harness.context import Context
from harness.model import Evidence
from harness.probes import inventory
from harness.probes.repository import RepoFile, RepoSnapshot

# ORMs and managed-database clients, by package name in a dependency manifest.
ORM_PACKAGES = {
    "sqlalchemy": "SQLAlchemy",
    "flask-sqlalchemy": "Flask-SQLAlchemy",
    "sqlmodel": "SQLModel",
    "django": "the Django ORM",
    "peewee": "Peewee",
    "tortoise-orm": "Tortoise ORM",
    "prisma": "Prisma",
    "@prisma/client": "Prisma",
    "sequelize": "Sequelize",
    "typeorm": "TypeORM",
    "mongoose": "Mongoose",
    "drizzle-orm": "Drizzle ORM",
    "@mikro-orm/core": "MikroORM",
}
# Database drivers: the app reaches a database server by a connection string.
DRIVER_PACKAGES = {
    name: "a database reached by a connection string"
    for name in (
        "psycopg2",
        "psycopg2-binary",
        "psycopg",
        "asyncpg",
        "pymongo",
        "motor",
        "mysqlclient",
        "pymysql",
        "mysql-connector-python",
        "pg",
        "postgres",
        "mysql2",
        "mongodb",
        "@neondatabase/serverless",
        "@planetscale/database",
    )
}
MANAGED_PACKAGES = {
    "azure-cosmos": "Cosmos DB",
    "@azure/cosmos": "Cosmos DB",
    "google-cloud-firestore": "Firestore",
    "@google-cloud/firestore": "Firestore",
    "@aws-sdk/client-dynamodb": "DynamoDB",
    "@aws-sdk/lib-dynamodb": "DynamoDB",
    "pynamodb": "DynamoDB",
}
# A hosted database reached by a connection string or a cloud database client, in code or configuration.
MANAGED = re.compile(
    r"(mongodb\+srv://|\.mongodb\.net\b|\.documents\.azure\.com|AccountEndpoint=https://|\.rds\.amazonaws\.com"
    r"|\.(postgres|mysql)\.database\.azure\.com|\.database\.windows\.net|\bfirestore\.(Client|client)\("
    r"|\bgetFirestore\(|\bboto3\.(resource|client)\(\s*['\"]dynamodb|\bDynamoDBClient\(|\bCosmosClient\("
    r"|\b(os\.environ|os\.getenv|process\.env|env)\W{1,3}(DATABASE_URL|MONGO(DB)?_UR[IL]|POSTGRES_URL|MYSQL_URL"
    r"|COSMOS_\w+|SQLALCHEMY_DATABASE_URI)\b)"
)


def mask(text: str) -> str:
    """A connection string's password never reaches a finding (user:***@host)."""
    return re.sub(r"://([^:/@\s]+):[^@\s]+@", r"://\1:***@", text)


def _pipfile(repo: RepoSnapshot) -> list[tuple[str, str, int]]:
    out = []
    for f in repo.files:
        if f.name != "Pipfile" or inventory.is_vendored(f.path):
            continue
        text = repo.read_text(f.path) or ""
        try:
            packages = tomllib.loads(text).get("packages") or {}
        except tomllib.TOMLDecodeError:
            continue
        for name in packages if isinstance(packages, dict) else []:
            out.append(
                (str(name), f.path, inventory.line_of(text, re.compile(rf"^\s*{re.escape(str(name))}\s*=", re.M)))
            )
    return out


def orm_and_managed(ctx: Context, repo: RepoSnapshot, files: list[RepoFile]) -> list[Evidence]:
    """ORMs and managed-database clients in the manifests; hosted connection strings and clients in code."""
    out: list[Evidence] = []
    seen: set[str] = set()
    deps = [(d.name, d.path, d.line) for d in manifest_dependencies(ctx, repo)[0]] + _pipfile(repo)
    for name, path, line in deps:
        key = re.sub(r"[-_.]+", "-", name.lower()) if not name.startswith("@") else name.lower()
        what = ORM_PACKAGES.get(key) or MANAGED_PACKAGES.get(key) or DRIVER_PACKAGES.get(key)
        if what and what not in seen:
            seen.add(what)
            out.append(inventory.evidence_at(repo, path, line, f"data store through {what} ({name} in {path})", name))
    for hit in inventory.grep(repo, files, MANAGED, limit=10):
        what = mask(m.group(0) if (m := MANAGED.search(hit.text)) else hit.text)
        out.append(inventory.evidence_at(repo, hit.path, hit.line, f"hosted database: {what}", mask(hit.text)))
    return out
