"""DP-1 (issue 9): hosted databases reached by a connection string and ORMs in the manifests are persistence;
storage that only holds infrastructure state is not the application's data store."""

from __future__ import annotations

import json

from harness.model import Outcome
from tests.conftest import run_check

FLASK_APP = """import os
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
db = SQLAlchemy(app)
"""


def _main(make_repo, files: dict[str, str]):
    repo = make_repo()
    for path, text in files.items():
        repo.write(path, text)
    repo.commit("project")
    found = run_check("repo.persistence", repo.path)
    [main] = [f for f in found if f.subject is None]
    return main


def test_flask_sqlalchemy_in_requirements_is_persistence(make_repo):
    main = _main(make_repo, {"requirements.txt": "Flask==3.0.3\nFlask-SQLAlchemy==3.1.1\n", "app.py": FLASK_APP})
    # Old code found no data store here.
    assert main.outcome is Outcome.PASS and "Flask-SQLAlchemy" in main.reason
    assert any(e.path == "requirements.txt" and e.start_line == 2 for e in main.evidence)


def test_node_mongoose_is_persistence(make_repo):
    pkg = {"name": "api", "dependencies": {"express": "^4.19.2", "mongoose": "^8.4.0"}}
    code = "const mongoose = require('mongoose');\nmongoose.connect(process.env.MONGODB_URI);\n"
    main = _main(make_repo, {"package.json": json.dumps(pkg, indent=2), "server.js": code})
    # Old code: "1 data store reference(s), but no named volume ..." (FAIL).
    assert main.outcome is Outcome.PASS and "Mongoose" in main.reason


def test_django_in_pipfile_and_prisma_in_package_json(make_repo):
    pipfile = '[packages]\ndjango = "==5.0.6"\ngunicorn = "*"\n\n[requires]\npython_version = "3.12"\n'
    main = _main(make_repo, {"Pipfile": pipfile, "manage.py": "import django\n"})
    assert main.outcome is Outcome.PASS and "Django ORM" in main.reason
    assert main.evidence[0].path == "Pipfile" and main.evidence[0].start_line == 2

    prisma = {"name": "web", "dependencies": {"@prisma/client": "5.14.0", "next": "14.2.3"}}
    other = make_repo("prisma")
    other.write("package.json", json.dumps(prisma)).commit("web")
    [f] = [f for f in run_check("repo.persistence", other.path) if f.subject is None]
    assert f.outcome is Outcome.PASS and "Prisma" in f.reason


def test_atlas_connection_string_is_persistence_and_its_password_is_masked(make_repo):
    cfg = "MONGO = 'mongodb+srv://app:s3cretPassw0rd@cluster0.abcde.mongodb.net/notes'\n"
    main = _main(make_repo, {"config.py": cfg})
    assert main.outcome is Outcome.PASS and "hosted database" in main.reason
    shown = main.reason + " ".join(f"{e.summary} {e.excerpt}" for e in main.evidence)
    assert "s3cretPassw0rd" not in shown


def test_dynamodb_through_boto3_is_persistence(make_repo):
    code = "import boto3\n\ntable = boto3.resource('dynamodb').Table('notes')\n"
    main = _main(make_repo, {"handler.py": code})
    assert main.outcome is Outcome.PASS and "dynamodb" in main.reason.lower()


STATE_ONLY_TF = """terraform {
  backend "s3" {
    bucket         = "acme-tfstate"
    dynamodb_table = "acme-locks"
    key            = "app.tfstate"
  }
}

resource "aws_s3_bucket" "state" {
  bucket = "acme-tfstate"
}

resource "aws_dynamodb_table" "locks" {
  name     = "acme-locks"
  hash_key = "LockID"
}

resource "aws_instance" "web" {
  ami = "ami-123"
}
"""


def test_terraform_state_bucket_and_lock_table_are_not_the_app_store(make_repo):
    main = _main(make_repo, {"infra/main.tf": STATE_ONLY_TF, "app.py": "notes = {}\n"})
    # Old code credited the state bucket as a store and the lock table as durable storage (PASS). Neither is the
    # app's store; with no route that writes, the remote state backend is what DP-1 credits (a warning says so).
    assert main.outcome is Outcome.WARN and "no application data store" in main.reason, main.reason
    assert "infrastructure state kept in a remote backend" in main.reason


def test_in_memory_app_is_still_not_persistence(make_repo):
    pkg = {"name": "api", "dependencies": {"express": "^4.19.2"}}
    main = _main(make_repo, {"package.json": json.dumps(pkg), "server.js": "const notes = [];\n"})
    assert main.outcome is Outcome.FAIL


def test_driver_reaching_an_external_database_is_persistence(make_repo):
    pkg = {"name": "api", "dependencies": {"mongodb": "^3.6.0", "express": "^4.19.2"}}
    code = "const { MongoClient } = require('mongodb');\nMongoClient.connect(config.mongodb.uri);\n"
    main = _main(make_repo, {"package.json": json.dumps(pkg), "src/db.js": code})
    # Old code: "data store reference(s), but no named volume ..." (FAIL).
    assert main.outcome is Outcome.PASS and "connection string" in main.reason


def test_orm_does_not_excuse_the_repos_own_database_container_without_a_volume(make_repo):
    files = {
        "requirements.txt": "Flask-SQLAlchemy==3.1.1\n",
        "app.py": FLASK_APP,
        "compose.yaml": "services:\n  db:\n    image: postgres:16.3\n",
    }
    main = _main(make_repo, files)
    assert main.outcome is Outcome.FAIL and "outlives" in main.reason


def test_database_installed_by_ansible_on_the_host(make_repo):
    tasks = "- name: database\n  postgresql_db:\n    name: app\n"
    playbook = "- hosts: web\n  roles:\n    - postgres\n"
    main = _main(make_repo, {"deploy.yml": playbook, "deploy/postgres/tasks/main.yml": tasks})
    assert main.outcome is Outcome.PASS and "postgresql_db" in main.reason
