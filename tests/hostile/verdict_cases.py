"""Verdicts an assessor would sign (issue 9): projects built to win RP-1, DP-1, UN-1/UN-2 and CQ-2 on appearances."""

from __future__ import annotations

from typing import Any

from tests.hostile import Env, HostileCase, commit_all, fails, findings, no_pass

ATLAS_PASSWORD = "hostile-Atlas-pw-7731"


def _template_story(env: Env) -> list[str]:
    # A story and its criteria only in an issue template: a placeholder, not a user story.
    folder = env.project / ".github" / "ISSUE_TEMPLATE"
    folder.mkdir(parents=True)
    (folder / "story.md").write_text(
        "---\nname: Story\n---\n\n## US-1 Must have\nAs a user, I want to log in so that my data is mine.\n\n"
        "## Acceptance criteria\n- [ ] Given a user, when she logs in, then she sees her data\n"
    )
    (env.project / "app.py").write_text("print('app')\n")
    commit_all(env.project)
    return ["--scope", "repository", "--only", "repo.user-stories"]


def _state_bucket(env: Env) -> list[str]:
    # Only Terraform state storage and its lock table, dressed as the app's data store.
    (env.project / "main.tf").write_text(
        'terraform {\n  backend "s3" {\n    bucket = "app-data-tfstate"\n  }\n}\n'
        'resource "aws_s3_bucket" "data" {\n  bucket = "app-data-tfstate"\n}\n'
        'resource "aws_dynamodb_table" "data" {\n  name     = "app-data"\n  hash_key = "LockID"\n}\n'
    )
    (env.project / "app.py").write_text("DATA = {}\n")
    commit_all(env.project)
    return ["--scope", "repository", "--only", "repo.persistence"]


def _no_data_store_pass(report: dict[str, Any] | None) -> str | None:
    # The state-backend finding may pass (the backend is remote); the data-store verdict must not.
    main = [f for f in findings(report, "repo.persistence") if f.get("subject") is None]
    if not main:
        return "repo.persistence gave no data-store finding"
    return "false pass: state storage credited as the data store" if main[0]["outcome"] == "pass" else None


def _serverless_but_ssh_pull(env: Env) -> list[str]:
    # A serverless.yml for show, while the real deploy changes a server in place.
    (env.project / "serverless.yml").write_text(
        "service: x\nprovider:\n  name: aws\nfunctions:\n  f:\n    handler: h.f\n"
    )
    (env.project / "deploy.sh").write_text("#!/bin/sh\nssh deploy@web1 'cd /srv/app && git pull && pm2 restart all'\n")
    commit_all(env.project)
    return ["--scope", "repository", "--only", "repo.immutable-releases"]


def _atlas_password(env: Env) -> list[str]:
    # A hosted database credited from a connection string whose password must never be shown.
    (env.project / "config.py").write_text(
        f"MONGO_URI = 'mongodb+srv://app:{ATLAS_PASSWORD}@cluster0.abcde.mongodb.net/notes'\n"
    )
    commit_all(env.project)
    return ["--scope", "repository", "--only", "repo.persistence", "--format", "json", "--format", "html"]


CASES = [
    HostileCase("story-only-in-issue-template", "false-pass", _template_story, expect=no_pass("repo.user-stories")),
    HostileCase("tf-state-bucket-as-data-store", "false-pass", _state_bucket, expect=_no_data_store_pass),
    HostileCase(
        "serverless-file-with-ssh-git-pull",
        "false-pass",
        _serverless_but_ssh_pull,
        expect=fails("repo.immutable-releases"),
    ),
    HostileCase("atlas-password-in-connection-string", "leak", _atlas_password, secrets=(ATLAS_PASSWORD,)),
]
