"""Fixtures: the app wired to the in-memory store, so unit and acceptance tests need no database."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from taskapp import create_app
from taskapp.settings import Settings
from taskapp.store import MemoryStore


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def settings() -> Settings:
    return Settings(commit="abc123", build_time="2026-01-01T00:00:00Z", image_digest="sha256:feed", instance_id="i-1")


@pytest.fixture
def app(store: MemoryStore, settings: Settings) -> Flask:
    return create_app(store=store, settings=settings)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def due_client(store: MemoryStore) -> FlaskClient:
    """The app with the FEATURE_DUE_DATES toggle on."""
    return create_app(store=store, settings=Settings(feature_due_dates=True, instance_id="i-2")).test_client()
