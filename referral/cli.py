"""The `referral` command line: database, demo data, server, accounts, docs."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .config import PROJECT_ROOT, Settings
from .db import Database
from .domain.errors import DomainError


def _settings() -> Settings:
    return Settings.from_env()


def _database() -> Database:
    """The configured database, refusing clearly when it has not been created yet."""
    from sqlalchemy import inspect

    database = Database(_settings().database_url)
    if not inspect(database.engine).has_table("facilities"):
        click.echo("error: the database has no tables yet; run `referral db upgrade` first", err=True)
        sys.exit(2)
    return database


@click.group()
def main() -> None:
    """Tiered telemedicine referral and remote consultation."""


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Create or migrate the database to the newest revision."""
    from .migrate import upgrade

    settings = _settings()
    upgrade(settings.database_url, revision)
    click.echo(f"database at {revision}: {_display_url(settings.database_url)}")


def _display_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@main.command("seed-demo")
@click.option("--password", help="password for every demo account (default: generate one and print it)")
def seed_demo(password: str | None) -> None:
    """Load the Yunxi county demo: facilities, demo accounts, sample cases. Idempotent."""
    from .demo.seed import seed_demo as run

    database = _database()
    with database.session() as session:
        report = run(session, password)
    click.echo(
        f"facilities created: {report.facilities_created}, accounts created: {report.users_created}, "
        f"sample cases created: {report.cases_created}"
    )
    if report.password_generated:
        click.echo(f"demo password (every demo account): {report.password}")
    elif report.password is None:
        click.echo("demo accounts already exist; their passwords are unchanged (use --password to reset them)")


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Run the web app, API and background jobs in one process."""
    from .app import create_app
    from .realtime import socketio

    app = create_app(_settings())
    click.echo(f"serving on http://{host}:{port}")
    socketio.run(app, host=host, port=port, use_reloader=False, log_output=False, allow_unsafe_werkzeug=True)


@main.command("create-user")
@click.option("--username", required=True)
@click.option("--password", required=True, prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--name", "display_name", default="", help="display name, e.g. 王秀兰")
@click.option("--facility", "facility_code", required=True, help="facility code, e.g. YX-T01-V01")
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice(["doctor", "specialist", "admin", "sysadmin"]), help="repeatable")
@click.option("--specialty", "specialties", multiple=True, help="specialty code, repeatable")
@click.option("--title", default="", help="professional title, e.g. 主治医师")
def create_user(username, password, display_name, facility_code, roles, specialties, title) -> None:
    """Create an account."""
    from .services.users import create_user as create

    database = _database()
    with database.session() as session:
        try:
            user = create(session, username=username, password=password, display_name=display_name,
                          facility_code=facility_code, roles=list(roles), specialties=list(specialties), title=title)
        except DomainError as exc:
            fields = getattr(exc, "fields", {})
            detail = "; ".join(f"{k}: {v}" for k, v in fields.items())
            click.echo(f"error: {exc.message}{' (' + detail + ')' if detail else ''}", err=True)
            sys.exit(2)
        click.echo(f"created {user.username} at {facility_code} with roles {', '.join(roles)}")


@main.command("docs")
@click.option("--check", is_flag=True, help="exit 1 if the generated docs are stale")
def docs(check: bool) -> None:
    """Regenerate the docs that are generated from code (the workflow diagram)."""
    from .domain.workflow import workflow_markdown

    target = PROJECT_ROOT / "docs" / "workflow.md"
    text = workflow_markdown()
    if check:
        stale = not target.exists() or target.read_text("utf-8") != text
        click.echo("docs/workflow.md is stale: run `referral docs`" if stale else "docs are current")
        sys.exit(1 if stale else 0)
    Path(target).write_text(text, "utf-8")
    click.echo(f"wrote {target.relative_to(PROJECT_ROOT)}")


if __name__ == "__main__":  # pragma: no cover
    main()
