"""The `referral` command line: database, demo data, server, accounts, docs."""

from __future__ import annotations

import gc
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


class _Commands(click.Group):
    def invoke(self, ctx: click.Context):
        from .runtime import RedisUnavailable

        try:
            return super().invoke(ctx)
        except RedisUnavailable as exc:  # a setting to fix, not a bug to read a traceback for
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)


@click.group(cls=_Commands)
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
@click.option("--sla-interval", type=click.FloatRange(min=0), default=None,
              help="seconds between passes of the SLA timer (default 30; 0 turns it off)")
@click.option("--upload-workers", type=click.IntRange(min=0, max=32), default=None,
              help="processes that take the uploads (default: one per core, up to 4; none on one core; "
                   "0 serves everything in this process)")
def serve(host: str, port: int, sla_interval: float | None, upload_workers: int | None) -> None:
    """Run the web app, API, Socket.IO and background jobs, with worker processes for the uploads."""
    from .app import create_app
    from .realtime import socketio
    from .serving import WorkerPool, default_worker_count, request_handler

    app = create_app(_settings())
    _start_background_jobs(app, sla_interval)
    pool = WorkerPool(default_worker_count() if upload_workers is None else upload_workers)
    pool.start()
    # Everything loaded so far (modules, templates, compiled statements) lives as long as the process:
    # moved out of the collector's reach, so its full collections do not walk it on every request burst.
    gc.collect()
    gc.freeze()
    click.echo(f"serving on http://{host}:{port}" + (f" ({pool.count} upload workers)" if pool.count else ""))
    try:
        handler = {"request_handler": request_handler(app, pool)} if pool.count else {}
        socketio.run(app, host=host, port=port, use_reloader=False, log_output=False, allow_unsafe_werkzeug=True,
                     **handler)
    finally:
        pool.stop()


@main.command("upload-worker", hidden=True)
@click.argument("channel_fd", type=int)
def upload_worker(channel_fd: int) -> None:
    """One of `serve`'s upload workers (started by `serve`, not by hand)."""
    from .serving import run_worker

    _console_log()
    run_worker(channel_fd)


def _console_log() -> None:
    """The jobs', the workers' and the log channel's lines on the console, beside the request log."""
    import logging

    log = logging.getLogger("referral")
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)


def _start_background_jobs(app, sla_interval: float | None) -> None:
    """The periodic SLA timer and the daily collection of unreferenced stored files (with Redis,
    one process at a time runs each).

    A server started by the test suite runs neither unless the test asks for the timer: the
    tests drive the timer with an explicit `now`, and a timer of its own would move their
    fixtures' cases behind their backs.
    """
    import os

    from .dicom.gc import start_collector
    from .sla.runner import DEFAULT_INTERVAL, start_sla_runner

    under_test = "PYTEST_CURRENT_TEST" in os.environ
    if sla_interval is None:
        sla_interval = 0 if under_test else DEFAULT_INTERVAL
    _console_log()
    if sla_interval:
        start_sla_runner(app, sla_interval)
    if not under_test:
        start_collector(app)


@main.command("sla-tick")
@click.option("--now", "now_text", metavar="ISO8601",
              help="the time to run as, e.g. 2026-03-01T08:30:00+08:00 (no offset means UTC); default: now")
def sla_tick(now_text: str | None) -> None:
    """Run one pass of the SLA timers (warnings, breaches, automatic escalation). Idempotent."""
    from datetime import UTC, datetime

    from .app import create_app
    from .notifications import dispatcher
    from .sla import run_tick

    if now_text:
        try:
            now = datetime.fromisoformat(now_text.strip().replace("Z", "+00:00"))
        except ValueError:
            click.echo(f"error: --now {now_text!r} is not an ISO 8601 time (e.g. 2026-03-01T08:30:00+08:00)", err=True)
            sys.exit(2)
        now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    else:
        now = datetime.now(UTC)
    database = _database()
    app = create_app(_settings())  # binds Socket.IO: with Redis the pushes reach the serving processes
    with app.app_context(), database.session() as session:
        report = run_tick(session, now)
    dispatcher.drain()
    database.engine.dispose()
    click.echo(report.summary())
    for failure in report.failed:
        click.echo(f"  not handled: {failure}", err=True)


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


@main.group("consult-agent")
@click.option("--url", default="http://127.0.0.1:5000", show_default=True, help="the server to join through")
@click.option("--token", envvar="REFERRAL_AGENT_TOKEN", help="bearer token (or REFERRAL_AGENT_TOKEN)")
@click.option("--user", "username", help="act as this account (issues a token from the database; revoked at exit)")
@click.option("--ice-host", "ice_hosts", multiple=True, envvar="REFERRAL_AGENT_ICE_HOSTS",
              help="gather ICE candidates on this address only (repeatable; env: space-separated)")
@click.option("-v", "--verbose", is_flag=True)
@click.pass_context
def consult_agent(ctx, url, token, username, ice_hosts, verbose) -> None:
    """Join a case's video consult room as an aiortc participant: record it, or stream a source into it."""
    import logging

    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    if ice_hosts:
        from .consult.agent import restrict_ice_hosts

        restrict_ice_hosts(list(ice_hosts))
    if not token and not username:
        raise click.UsageError("give --token (or REFERRAL_AGENT_TOKEN) or --user")
    ctx.obj = {"url": url.rstrip("/"), "token": token, "username": username}


def _run_agent(obj: dict, job) -> None:
    """Run an agent coroutine with a token: the given one, or one issued for --user and revoked after."""
    import asyncio
    import signal
    from datetime import timedelta

    from sqlalchemy import select

    from .models import User
    from .services.auth import issue_token, revoke_token

    token, issued = obj["token"], None
    if not token:
        database = Database(_settings().database_url)
        with database.session() as session:
            user = session.scalars(select(User).where(User.username == obj["username"])).first()
            if user is None:
                raise click.UsageError(f"no account {obj['username']!r}")
            token, _row = issue_token(session, user, timedelta(hours=12))
            issued = token

    async def run() -> None:
        stop = asyncio.Event()  # SIGTERM or Ctrl-C: leave the room cleanly (a recording is saved)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await job(token, stop)

    try:
        asyncio.run(run())
    except RuntimeError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    finally:
        if issued:
            with Database(_settings().database_url).session() as session:
                revoke_token(session, issued)


@consult_agent.command("record")
@click.option("--case", "case_id", required=True, type=int)
@click.option("--recording", "recording_id", required=True, type=int, help="the recording requested in the room")
@click.option("--max-seconds", default=4 * 3600, show_default=True, type=float)
@click.pass_obj
def consult_agent_record(obj, case_id, recording_id, max_seconds) -> None:
    """Record a consult the specialist asked to record (started by `referral serve` on request)."""
    from .consult.agent import record

    settings = _settings()

    async def job(token, stop):
        path = await record(obj["url"], token, case_id, recording_id, settings, max_seconds=max_seconds, until=stop)
        click.echo(f"saved {path}")

    _run_agent(obj, job)


@consult_agent.command("stream")
@click.option("--case", "case_id", required=True, type=int)
@click.option("--source", required=True, help="a video file, or a capture device such as /dev/video0")
@click.option("--format", "fmt", help="input format for a device, e.g. v4l2 (Linux) or avfoundation")
@click.option("--option", "options", multiple=True, help="input option KEY=VALUE, e.g. video_size=1280x720")
@click.option("--loop", is_flag=True, help="play a file again from the start when it ends")
@click.option("--label", default="", help="shown to the participants, e.g. 超声")
@click.pass_obj
def consult_agent_stream(obj, case_id, source, fmt, options, loop, label) -> None:
    """Stream a video file or a capture device into the case's room."""
    from .consult.agent import stream

    opts = dict(o.split("=", 1) for o in options if "=" in o)

    async def job(token, stop):
        await stream(obj["url"], token, case_id, source, fmt=fmt, options=opts, loop=loop, label=label, until=stop)

    _run_agent(obj, job)


@main.command("seed-bulk")
@click.option("--cases", "count", required=True, type=click.IntRange(1, 20_000_000), help="how many cases to add")
@click.option("--years", default=5.0, show_default=True, type=click.FloatRange(0.1, 30), help="history ending now")
@click.option("--seed", default=2026, show_default=True, type=int, help="random seed (same seed, same history)")
def seed_bulk(count: int, years: float, seed: int) -> None:
    """Add years of simulated referral history (load the demo with seed-demo first)."""
    import time

    from .demo.bulk import seed_bulk as run

    database = _database()
    started = time.monotonic()

    def progress(done: int, total: int) -> None:
        click.echo(f"  {done:,} / {total:,} cases ({time.monotonic() - started:.0f} s)", err=True)

    with database.session() as session:
        try:
            report = run(session, count, years=years, seed=seed, progress=progress)
        except ValueError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
    click.echo(f"cases: {report.cases:,}, hops: {report.hops:,}, events: {report.events:,}, "
               f"accounts created: {report.accounts_created}, submitted from {report.first_submitted:%Y-%m-%d} "
               f"to {report.last_submitted:%Y-%m-%d}, in {time.monotonic() - started:.0f} s")


@main.command("report")
@click.option("--from", "date_from", help="first day, YYYY-MM-DD (Asia/Shanghai); default a year before --to")
@click.option("--to", "date_to", help="last day, inclusive; default today (Asia/Shanghai)")
@click.option("--group-by", default="tier", show_default=True,
              type=click.Choice(["tier", "facility", "specialty", "urgency", "month", "week"]))
@click.option("--format", "fmt", default="csv", show_default=True, type=click.Choice(["json", "csv", "xlsx", "pdf"]))
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), help="file (default: stdout)")
@click.option("--user", "username", help="report as this administrator (their jurisdiction); default: everything")
@click.option("--tier", default=None)
@click.option("--facility", default=None, help="facility id or code (and the facilities below it)")
@click.option("--specialty", default=None)
@click.option("--urgency", default=None)
@click.option("--lang", default="zh", show_default=True, type=click.Choice(["zh", "en"]))
def report(date_from, date_to, group_by, fmt, output, username, tier, facility, specialty, urgency, lang) -> None:
    """Referral figures for a period, as JSON, CSV, XLSX or PDF."""
    from .reports.cli import run_report

    if fmt in ("xlsx", "pdf") and not output:
        click.echo(f"error: --format {fmt} needs --output FILE", err=True)
        sys.exit(2)
    args = {"from": date_from, "to": date_to, "tier": tier, "facility": facility, "specialty": specialty,
            "urgency": urgency}
    try:
        data = run_report(_settings(), args, group_by=group_by, fmt=fmt, username=username, lang=lang)
    except DomainError as exc:
        fields = getattr(exc, "fields", {})
        detail = "; ".join(f"{k}: {v}" for k, v in fields.items())
        click.echo(f"error: {exc.message}{' (' + detail + ')' if detail else ''}", err=True)
        sys.exit(2)
    if output:
        Path(output).write_bytes(data)
        click.echo(f"wrote {output} ({len(data):,} bytes)", err=True)
    else:
        sys.stdout.buffer.write(data)


@main.group("advice")
def advice_group() -> None:
    """Signed advice PDFs."""


@advice_group.command("verify")
def advice_verify() -> None:
    """Rehash every stored advice PDF against the SHA-256 recorded when it was signed.

    Lists missing and changed files and exits 1 when there is any; advice issued without a PDF
    (the demo seeding) is counted as not rendered yet, which is not a problem.
    """
    from .advice.service import verify_stored_pdfs

    settings = _settings()
    database = _database()
    with database.session() as session:
        report = verify_stored_pdfs(session, settings.data_dir)
    database.engine.dispose()
    for line in report.missing:
        click.echo(f"missing: {line}", err=True)
    for line in report.mismatched:
        click.echo(f"changed: {line}", err=True)
    click.echo(f"advice PDFs checked: {report.checked}, intact: {report.ok}, "
               f"not rendered yet: {report.not_rendered}, problems: {report.problems}")
    sys.exit(1 if report.problems else 0)


@main.group("dicom")
def dicom_group() -> None:
    """Stored DICOM files, photos and PDF attachments."""


@dicom_group.command("verify")
def dicom_verify() -> None:
    """Rehash every stored file against its content address; report any that changed or vanished.

    Exits 1 when there is any, so that a cron job or monitoring notices.
    """
    from .dicom import imaging_for
    from .services.attachments import stored_files

    store = imaging_for(_settings()).store
    database = _database()
    counts = {"ok": 0, "changed": 0, "vanished": 0}
    last = 0
    with database.session() as session:
        while batch := stored_files(session, after_id=last):
            for row in batch:
                state = store.verify(row.sha256, row.size)
                counts[state] += 1
                if state != "ok":
                    click.echo(f"{state}: {row.sha256} ({row.media_type}, {row.size} bytes)", err=True)
            last = batch[-1].id
    database.engine.dispose()
    checked = sum(counts.values())
    click.echo(f"files checked: {checked}, intact: {counts['ok']}, changed: {counts['changed']}, "
               f"vanished: {counts['vanished']}")
    sys.exit(1 if counts["changed"] or counts["vanished"] else 0)


@dicom_group.command("gc")
@click.option("--grace-hours", type=click.FloatRange(min=1), default=24, show_default=True,
              help="leave files younger than this alone (an upload may still be indexing them)")
@click.option("--dry-run", is_flag=True, help="only list what would be removed")
def dicom_gc(grace_hours: float, dry_run: bool) -> None:
    """Remove stored files that no index row refers to (left by interrupted uploads)."""
    from datetime import timedelta

    from .dicom import imaging_for
    from .dicom.gc import Busy, collect

    store = imaging_for(_settings()).store
    database = _database()
    try:
        with database.session() as session:
            result = collect(session, store, timedelta(hours=grace_hours), dry_run=dry_run)
    except Busy as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        database.engine.dispose()
    for sha in result.removed:
        click.echo(f"{'would remove' if dry_run else 'removed'}: {sha}")
    click.echo(f"files checked: {result.checked}, unreferenced {'to remove' if dry_run else 'removed'}: "
               f"{len(result.removed)} ({result.freed_bytes} bytes), unreferenced but recent: {result.recent}, "
               f"staging leftovers removed: {result.staging_removed}")


@main.command("dicom-listen")
@click.option("--port", default=11112, show_default=True, type=int)
@click.option("--host", default="0.0.0.0", show_default=True, help="address to listen on")
@click.option("--ae-title", default="REFERRAL", show_default=True, help="this receiver's AE title")
@click.option("--facility", "facility_code", default=None,
              help="the facility whose inbox receives studies sent to --ae-title (e.g. YX-T01); a study sent to "
                   "an AE title that is a facility code goes to that facility")
def dicom_listen(port: int, host: str, ae_title: str, facility_code: str | None) -> None:
    """Receive studies over DICOM (C-STORE, C-ECHO) into a facility's inbox."""
    import logging

    from .dicom import imaging_for
    from .dicom.listener import Listener
    from .services.attachments import inbox_facility

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("pynetdicom").setLevel(logging.WARNING)
    database = _database()
    if facility_code:
        with database.session() as session:
            try:
                facility = inbox_facility(session, facility_code)
            except DomainError as exc:
                click.echo(f"error: {exc.message}", err=True)
                sys.exit(2)
        target = f"the inbox of {facility.code} {facility.name}"
    else:
        target = "the inbox of the facility named by the called AE title"
    listener = Listener(database, imaging_for(_settings()), ae_title[:16], facility_code)
    click.echo(f"listening for DICOM on {host}:{port} as {ae_title[:16]}; storing into {target}", err=True)
    try:
        listener.serve(host, port)
    except KeyboardInterrupt:  # pragma: no cover - interactive stop
        pass
    finally:
        database.engine.dispose()

if __name__ == "__main__":  # pragma: no cover
    main()
