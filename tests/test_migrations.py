"""`alembic upgrade head` from empty gives exactly the schema of the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from referral.migrate import upgrade
from referral.models import Base
from tests.conftest import _pg_admin_url, pg_database


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    if _pg_admin_url() is None:
        pytest.skip("REFERRAL_TEST_DATABASE_URL is not set")
    with pg_database("referral_mig") as url:
        yield url


def test_upgrade_from_empty_matches_the_models(empty_url):
    upgrade(empty_url)
    engine = create_engine(empty_url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    engine.dispose()
    assert diff == [], "models and migrations differ; run autogenerate (see docs/development.md)"


def test_upgrade_is_repeatable(empty_url):
    upgrade(empty_url)
    upgrade(empty_url)  # a second run is a no-op, not an error
