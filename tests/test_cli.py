"""The `referral` command line from a fresh data directory."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, func, select, text

from referral.cli import main
from referral.models import Case, Event, Facility, User


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("REFERRAL_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("REFERRAL_DATABASE_URL", raising=False)
    return tmp_path


def run(*args):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result


def counts(path):
    engine = create_engine(f"sqlite:///{path / 'referral.db'}")
    with engine.connect() as conn:
        out = tuple(conn.scalar(select(func.count()).select_from(t)) for t in (
            Facility.__table__, User.__table__, Case.__table__, Event.__table__))
    engine.dispose()
    return out


def test_upgrade_seed_is_idempotent(env):
    assert run("db", "upgrade").exit_code == 0
    first = run("seed-demo")
    assert first.exit_code == 0 and "demo password" in first.output
    before = counts(env)
    assert before[0] == 314 and before[2] >= 50
    second = run("seed-demo")
    assert second.exit_code == 0 and "unchanged" in second.output
    assert counts(env) == before
    third = run("seed-demo", "--password", "another-pass-1")
    assert third.exit_code == 0 and counts(env) == before
    assert (env / "secret_key").exists()


def test_seeded_demo_has_cases_in_every_state(env):
    run("db", "upgrade")
    run("seed-demo", "--password", "demo-pass-2026")
    engine = create_engine(f"sqlite:///{env / 'referral.db'}")
    with engine.connect() as conn:
        statuses = {row[0] for row in conn.execute(text("SELECT DISTINCT status FROM cases"))}
        tiers = {row[0] for row in conn.execute(text("SELECT DISTINCT tier FROM hops"))}
    engine.dispose()
    assert statuses == {"draft", "submitted", "in_review", "info_requested", "advised", "returned", "closed",
                        "cancelled"}
    assert tiers == {"township", "county", "provincial"}


def test_create_user(env):
    run("db", "upgrade")
    run("seed-demo", "--password", "demo-pass-2026")
    ok = run("create-user", "--username", "new.doctor", "--password", "long-enough-1", "--name", "新医生",
             "--facility", "YX-T05-V03", "--role", "doctor")
    assert ok.exit_code == 0, ok.output
    dup = CliRunner().invoke(main, ["create-user", "--username", "new.doctor", "--password", "long-enough-1",
                                    "--facility", "YX-T05-V03", "--role", "doctor"])
    assert dup.exit_code == 2 and "taken" in dup.output
    bad = CliRunner().invoke(main, ["create-user", "--username", "X", "--password", "short",
                                    "--facility", "YX-T05-V03", "--role", "specialist", "--specialty", "astrology"])
    assert bad.exit_code == 2
    assert "username" in bad.output and "password" in bad.output and "specialties" in bad.output
    nowhere = CliRunner().invoke(main, ["create-user", "--username", "lost.doctor", "--password", "long-enough-1",
                                        "--facility", "NOWHERE", "--role", "doctor"])
    assert nowhere.exit_code == 2 and "NOWHERE" in nowhere.output


def test_commands_before_upgrade_say_what_to_do(env):
    result = CliRunner().invoke(main, ["seed-demo"])
    assert result.exit_code == 2 and "referral db upgrade" in result.output


def test_workflow_doc_is_current():
    result = CliRunner().invoke(main, ["docs", "--check"])
    assert result.exit_code == 0, "docs/workflow.md is stale: run `referral docs`"
