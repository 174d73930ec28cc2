"""Issue 9: storage that only receives backups (Velero, a backup bucket) is not the service's data store."""

import pytest

from harness.model import Outcome
from tests.conftest import run_check

APP = "from flask import Flask\napp = Flask(__name__)\n"
VELERO = """apiVersion: velero.io/v1
kind: Backup
metadata:
  name: app-volumes
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: backup-pvc
spec:
  storageClassName: standard
"""
BACKUP_BUCKET = 'resource "aws_s3_bucket" "backup" {\n  bucket = "app-backups"\n}\n'
DATA_BUCKET = 'resource "aws_s3_bucket" "uploads" {\n  bucket = "app-uploads"\n}\n'
DATA_PVC = VELERO.split("---\n")[1].replace("backup-pvc", "data")


def persistence(make_repo, files: dict[str, str]) -> tuple[list[Outcome], str]:
    repo = make_repo()
    for path, text in {"app.py": APP, **files}.items():
        repo.write(path, text)
    repo.commit("init")
    found = [f for f in run_check("repo.persistence", repo.path) if f.subject not in ("backup", "state")]
    return [f.outcome for f in found], " | ".join(f.reason for f in found)


def test_backups_of_nothing_are_no_data_store(make_repo):
    outs, why = persistence(make_repo, {"k8s/backup/velero.yaml": VELERO, "terraform/backup-storage.tf": BACKUP_BUCKET})
    assert outs == [Outcome.FAIL] and "backups" in why, why


def test_a_data_bucket_and_volume_are_still_persistence(make_repo):
    outs, why = persistence(make_repo, {"k8s/data.yaml": DATA_PVC, "terraform/storage.tf": DATA_BUCKET})
    assert outs == [Outcome.PASS], why


def backup_findings(make_repo, files: dict[str, str]) -> list[str]:
    repo = make_repo()
    for path, text in {"app.py": APP, **files}.items():
        repo.write(path, text)
    repo.commit("init")
    return [
        f.reason
        for f in run_check("repo.persistence", repo.path)
        if f.subject == "backup" and f.outcome == Outcome.PASS
    ]


def test_the_word_velero_in_data_or_prose_is_no_backup_automation(make_repo):
    notes = 'DP-1 = "the only storage is Velero backup manifests"\nrestic = "a tool we might try"\n'
    assert backup_findings(make_repo, {"bench/projects.toml": notes}) == []


@pytest.mark.parametrize(
    "path, text",
    [
        ("ops/backup.sh", "#!/bin/sh\nset -e\nvelero backup create nightly --include-namespaces app\n"),
        ("ops/backup.sh", "#!/bin/sh\nset -e\nrestic -r s3:s3.amazonaws.com/bucket backup /data\n"),
        ("k8s/backup/schedule.yaml", VELERO),
    ],
)
def test_velero_and_restic_at_work_are_backup_automation(make_repo, path, text):
    assert backup_findings(make_repo, {path: text}) != []


AZURERM_BACKEND = 'terraform {\n  backend "azurerm" {\n    container_name = "tfstate"\n  }\n}\n'
WRITE_ROUTE = "\n\n@app.post('/tasks')\ndef create(name: str):\n    TASKS.append(name)\n    return name\n"


def test_a_service_keeping_no_data_persists_its_state_in_a_remote_backend(make_repo):
    """DP-1 names "configuration/infrastructure state management": with no data of its own and the IaC state in a
    remote backend, the service is not failed for want of a database (a warning says what was credited)."""
    outs, why = persistence(make_repo, {"terraform/backend.tf": AZURERM_BACKEND})
    assert outs == [Outcome.WARN] and "keep no data" in why and "azurerm" in why, why
    # A service that takes writes keeps data; a list in memory is no persistence, whatever the state backend.
    outs, why = persistence(make_repo, {"terraform/backend.tf": AZURERM_BACKEND, "api.py": "TASKS = []" + WRITE_ROUTE})
    assert outs == [Outcome.FAIL] and "no data store" in why, why
