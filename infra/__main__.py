"""Pulumi entry point: `pulumi up --stack local|hosted` from this folder."""

import os

import pulumi
from refplatform import deploy

for key, value in deploy(pulumi.Config(), os.environ.get("GIT_SHA", "dev")).items():
    pulumi.export(key, value)
