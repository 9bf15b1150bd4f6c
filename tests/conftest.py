"""Shared fixtures: a seeded database per test on SQLite (always) and PostgreSQL (when
REFERRAL_TEST_DATABASE_URL is set, which CI always does).

Each test gets its own database with real commits: on SQLite a copy of a seeded
file, on PostgreSQL a database cloned from a seeded template. No mocks of our
own database anywhere. The templates are built from the models; that the
Alembic migrations build exactly the same schema is tests/test_migrations.py.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from referral.config import Settings
from referral.db import Database
from referral.demo.seed import seed_demo
from referral.models import Base, User

DEMO_PASSWORD = "demo-pass-2026"
PG_ENV = "REFERRAL_TEST_DATABASE_URL"
REDIS_ENV = "REFERRAL_TEST_REDIS_URL"


def pytest_configure(config):
    if os.environ.get("CI") and not os.environ.get(PG_ENV):
        raise pytest.UsageError(f"CI must set {PG_ENV}: the PostgreSQL tests may not be skipped there")


def _pg_admin_url() -> str | None:
    url = os.environ.get(PG_ENV)
    if not url:
        return None
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


@contextmanager
def pg_database(prefix: str, template: str | None = None) -> Iterator[str]:
    """A PostgreSQL database of its own (optionally cloned from `template`), dropped afterwards."""
    admin = _pg_admin_url()
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def _build_seeded(url: str) -> None:
    database = Database(url)
    Base.metadata.create_all(database.engine)
    with database.session() as session:
        seed_demo(session, DEMO_PASSWORD)
    database.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A seeded SQLite file, made once per run."""
    path = tmp_path_factory.mktemp("template") / "referral.db"
    _build_seeded(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_template() -> str | None:
    """A seeded PostgreSQL database to clone per test (its name)."""
    if _pg_admin_url() is None:
        yield None
        return
    with pg_database("referral_tpl") as url:
        _build_seeded(url)
        yield make_url(url).database


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request) -> str:
    if request.param == "postgresql" and _pg_admin_url() is None:
        pytest.skip(f"{PG_ENV} is not set")
    return request.param


@pytest.fixture
def db_url(backend, request, tmp_path) -> str:
    """A fresh seeded database for this test."""
    if backend == "sqlite":
        target = tmp_path / "referral.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        yield f"sqlite:///{target}"
        return
    with pg_database("referral_t", template=request.getfixturevalue("pg_template")) as url:
        yield url


@pytest.fixture
def database(db_url) -> Database:
    db = Database(db_url)
    yield db
    db.engine.dispose()


@pytest.fixture
def session(database):
    with database.session() as s:
        yield s


@pytest.fixture
def users(session) -> dict[str, User]:
    return {u.username: u for u in session.scalars(select(User))}


@pytest.fixture
def settings(db_url, tmp_path) -> Settings:
    return Settings(data_dir=tmp_path, database_url=db_url, secret_key="test-secret", session_cookie_secure=False)


@pytest.fixture
def app(settings):
    from referral.app import create_app

    application = create_app(settings)
    application.config["TESTING"] = True
    yield application
    application.extensions["referral"].database.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


class Api:
    """A thin helper over the test client that signs in as demo accounts."""

    def __init__(self, client) -> None:
        self.client = client
        self._tokens: dict[str, str] = {}

    def token(self, username: str) -> str:
        if username not in self._tokens:
            r = self.client.post("/api/v1/auth/token", json={"username": username, "password": DEMO_PASSWORD})
            assert r.status_code == 201, r.get_json()
            self._tokens[username] = r.get_json()["token"]
        return self._tokens[username]

    def headers(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(username)}"}

    def get(self, username: str, path: str, **kw):
        return self.client.get(path, headers=self.headers(username), **kw)

    def post(self, username: str, path: str, json=None, **kw):
        return self.client.post(path, headers=self.headers(username), json=json, **kw)

    def act(self, username: str, case_id: int, action: str, **fields):
        return self.post(username, f"/api/v1/cases/{case_id}/actions/{action}", json=fields)

    def new_case(self, username: str = "village.doctor", **overrides) -> dict:
        body = {
            "patient": {"name": "测试患者", "sex": "female", "birth_date": "1960-05-01"},
            "urgency": "urgent",
            "specialty": "cardiology",
            "chief_complaint": "胸闷3天",
            "clinical_question": "是否为急性冠脉综合征？",
            "vitals": {"heart_rate": 96, "bp_systolic": 160, "bp_diastolic": 95},
            "diagnoses": [{"code": "I20.0", "name": "不稳定型心绞痛"}],
        }
        body.update(overrides)
        r = self.post(username, "/api/v1/cases", json=body)
        assert r.status_code == 201, r.get_json()
        return r.get_json()


@pytest.fixture
def api(client) -> Api:
    return Api(client)
