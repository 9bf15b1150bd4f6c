"""Keeping the data directory in bounds: the rendered-frame cache stays within its byte budget
(least recently used frames go first), and `referral dicom gc` removes stored files nothing
refers to any more, but never one an upload may still be indexing; `referral serve` collects
once a day on its own, one process at a time."""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
import uuid

import pytest
from click.testing import CliRunner

from referral.cli import main
from referral.dicom.frames import FrameCache, trim
from referral.dicom.limits import Limits
from referral.dicom.render import RenderRequest
from referral.dicom.sandbox import decoder_pool
from referral.dicom.store import BlobStore

from tests.conftest import REDIS_ENV

from .conftest import new_case, stored_files, upload

DAY = 24 * 3600


def _cache_bytes(root) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and p.name != ".trim.lock")


def _published(store: BlobStore, tmp_path, paths) -> list[str]:
    shas = []
    for i, path in enumerate(paths):
        staged = tmp_path / f"staged-{i}"
        staged.write_bytes(path.read_bytes())
        shas.append(store.publish(staged).sha256)
    return shas


def test_the_frame_cache_keeps_to_its_budget_dropping_the_least_recently_used(samples, tmp_path):
    store = BlobStore(tmp_path / "data")
    shas = _published(store, tmp_path, samples["ct"][:8])
    request = RenderRequest(size=128, quality=80)
    probe = FrameCache(store, decoder_pool(Limits()), budget=1 << 30)
    frame_bytes = len(probe.rendered(shas[0], request).data)
    probe.settle()
    budget = int(frame_bytes * 3.5)  # room for three frames of this size (they differ a little)
    cache = FrameCache(store, decoder_pool(Limits()), budget=budget)

    for sha in shas:
        cache.rendered(sha, request)
        cache.settle()
        time.sleep(0.01)  # distinct times of use
        cache.rendered(shas[0], request)  # the first slice stays in use all along
        cache.settle()
        time.sleep(0.01)

    assert _cache_bytes(cache.root) <= budget
    assert cache.path_for(shas[0], request).exists()  # used most recently
    assert cache.path_for(shas[-1], request).exists()  # rendered last
    assert not cache.path_for(shas[1], request).exists()  # the least recently used went first
    again = cache.rendered(shas[1], request)  # and a dropped frame is simply rendered again
    assert again.data[:3] == b"\xff\xd8\xff"


def test_one_trimming_pass_at_a_time_across_processes(samples, tmp_path):
    store = BlobStore(tmp_path / "data")
    shas = _published(store, tmp_path, samples["ct"][:3])
    cache = FrameCache(store, decoder_pool(Limits()), budget=1 << 30)
    for sha in shas:
        cache.rendered(sha, RenderRequest(size=64))
    cache.settle()
    with open(cache.root / ".trim.lock", "a+b") as held:  # as another process would hold it
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        assert trim(cache.root, 1) is None
    assert len(list(cache.root.rglob("*.jpg"))) == 3
    result = trim(cache.root, 1)
    assert result is not None and result.removed_files == 3 and not list(cache.root.rglob("*.jpg"))


def _cli(monkeypatch, settings, db_url, *args):
    monkeypatch.setenv("REFERRAL_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("REFERRAL_DATABASE_URL", db_url)
    return CliRunner().invoke(main, ["dicom", *args])


def _age(path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_gc_removes_old_unreferenced_files_only(api, settings, samples, monkeypatch, db_url, tmp_path):
    cid = new_case(api)
    assert upload(api, "village.doctor", cid, samples["ct"][:2]).status_code == 201
    referenced = stored_files(settings.data_dir)
    store = BlobStore(settings.data_dir)
    # What an upload that died between storing and indexing leaves: files with no index row.
    old_orphan, fresh_orphan, reused_orphan = (store.path_for(sha) for sha in _published(
        store, tmp_path, samples["ct"][2:5]))
    for path in (*referenced, old_orphan, reused_orphan):
        _age(path, 3 * DAY)
    staging_leftover = store.staging / "w1-1" / "part-0123"
    staging_leftover.parent.mkdir(parents=True, exist_ok=True)
    staging_leftover.write_bytes(b"half a file")
    _age(staging_leftover, 3 * DAY)
    # An upload in flight stores the same bytes again: the old copy is reused, so it is in use now.
    again = tmp_path / "again"
    again.mkdir()
    _published(store, again, [samples["ct"][4]])
    # A collection interrupted while it had a file moved aside: the next one puts it back.
    moved = referenced[0]
    os.rename(moved, store.staging / f"gc-{moved.name}")

    dry = _cli(monkeypatch, settings, db_url, "gc", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert f"would remove: {old_orphan.name}" in dry.output and old_orphan.exists()

    result = _cli(monkeypatch, settings, db_url, "gc")
    assert result.exit_code == 0, result.output
    assert f"removed: {old_orphan.name}" in result.output
    assert "files checked: 4, unreferenced removed: 1" in result.output
    assert "unreferenced but recent: 2" in result.output and "staging leftovers removed: 1" in result.output
    assert not old_orphan.exists() and not staging_leftover.exists()
    assert fresh_orphan.exists() and reused_orphan.exists() and all(p.exists() for p in referenced)
    assert not (store.staging / f"gc-{moved.name}").exists()

    verify = _cli(monkeypatch, settings, db_url, "verify")
    assert verify.exit_code == 0 and "files checked: 2, intact: 2" in verify.output
    r = api.get("village.doctor", f"/api/v1/cases/{cid}/attachments")
    assert r.status_code == 200 and r.get_json()["studies"][0]["instance_count"] == 2


def test_a_file_that_cannot_be_made_durable_is_not_stored_at_all(api, settings, samples, monkeypatch):
    """When the disk refuses to sync one file of a batch, nothing of the batch is published or indexed."""
    from referral.dicom import store as store_module

    real = store_module._fdatasync
    victim = samples["ct"][1].read_bytes()

    def failing(path):
        with open(path, "rb") as fh:
            if fh.read() == victim:  # this one file, however often it is tried
                raise OSError(28, "No space left on device")
        real(path)

    monkeypatch.setattr(store_module, "_fdatasync", failing)
    cid = new_case(api)
    api.client.application.config["PROPAGATE_EXCEPTIONS"] = False
    r = upload(api, "village.doctor", cid, samples["ct"][:3])
    assert r.status_code >= 500
    assert stored_files(settings.data_dir) == []
    listed = api.get("village.doctor", f"/api/v1/cases/{cid}/attachments").get_json()
    assert listed["studies"] == []
    monkeypatch.setattr(store_module, "_fdatasync", real)
    assert upload(api, "village.doctor", cid, samples["ct"][:3]).status_code == 201
    assert len(stored_files(settings.data_dir)) == 3


def test_the_frame_cache_budget_comes_from_the_environment(monkeypatch, tmp_path):
    from referral.config import Settings
    from referral.dicom import imaging_for

    monkeypatch.setenv("REFERRAL_FRAME_CACHE_BYTES", "1048576")
    assert imaging_for(Settings.from_env(data_dir=tmp_path)).limits.frame_cache_bytes == 1048576
    monkeypatch.setenv("REFERRAL_FRAME_CACHE_BYTES", "a lot")
    with pytest.raises(ValueError, match="REFERRAL_FRAME_CACHE_BYTES"):
        Settings.from_env(data_dir=tmp_path)


def _orphan(store: BlobStore, tmp_path, sample) -> "os.PathLike":
    """A stored file an upload that died before indexing left behind, a few days ago."""
    path = store.path_for(_published(store, tmp_path, [sample])[0])
    _age(path, 3 * DAY)
    return path


def test_a_serving_process_collects_on_its_own(api, app, settings, samples, tmp_path, monkeypatch):
    """`referral serve` starts the daily collection beside the SLA timer (the first pass a minute
    after it starts); a pass removes what `referral dicom gc` would, in the server's data directory."""
    from referral.cli import _start_background_jobs
    from referral.dicom import gc

    cid = new_case(api)
    assert upload(api, "village.doctor", cid, samples["ct"][:1]).status_code == 201
    (kept,) = stored_files(settings.data_dir)
    _age(kept, 3 * DAY)
    orphan = _orphan(BlobStore(settings.data_dir), tmp_path, samples["ct"][1])

    monkeypatch.delenv("PYTEST_CURRENT_TEST")
    logger = logging.getLogger("referral")
    monkeypatch.setattr(logger, "handlers", list(logger.handlers))  # serve adds a console handler: not kept
    monkeypatch.setattr(logger, "level", logger.level)
    _start_background_jobs(app, 0)
    (job,) = [t for t in threading.enumerate() if t.name == "dicom-gc"]
    try:
        assert job.interval == gc.DAILY and job.first_after == 60
        result = job.run_once()
    finally:
        job.stop()
    assert not job.is_alive()
    assert gc.summary(result) == ("unreferenced files removed: 1 (%d bytes) of 2 checked, staging leftovers "
                                  "removed: 0" % samples["ct"][1].stat().st_size)
    assert not os.path.exists(orphan) and kept.exists()


def test_the_collection_outlives_a_failed_pass(database, samples, tmp_path, monkeypatch, caplog):
    from referral.dicom import gc

    store = BlobStore(tmp_path / "data")
    orphan = _orphan(store, tmp_path, samples["ct"][0])
    collect, calls = gc.collect, []

    def flaky(session, store):
        calls.append(1)
        if len(calls) == 1:
            raise OSError("the disk went away for a moment")
        return collect(session, store)

    monkeypatch.setattr(gc, "collect", flaky)
    job = gc.collector(database, store, interval=0.05, first_after=0)
    job.start()
    try:
        deadline = time.monotonic() + 30
        while os.path.exists(orphan) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        job.stop()
    assert not os.path.exists(orphan) and len(calls) >= 2
    assert "dicom-gc: a pass failed" in caplog.text and "the disk went away" in caplog.text


@pytest.mark.redis
def test_with_redis_one_process_at_a_time_collects(database, tmp_path, samples):
    """While another process holds the collection's lease this one skips its pass; once the
    lease is free it collects, and it lets the lease lapse after the pass."""
    import redis

    from referral.dicom import gc

    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"{REDIS_ENV} is not set")
    client = redis.Redis.from_url(url)
    store = BlobStore(tmp_path / "data")
    orphan = _orphan(store, tmp_path, samples["ct"][0])
    job = gc.collector(database, store, client)
    assert job.leadership.key == gc.LEASE_KEY
    job.leadership.key = f"referral:test:gc:{uuid.uuid4().hex}"
    try:
        client.set(job.leadership.key, "another process", px=60_000)
        assert job.run_once() is None and os.path.exists(orphan)
        client.delete(job.leadership.key)
        assert len(job.run_once().removed) == 1 and not os.path.exists(orphan)
        assert 0 < client.pttl(job.leadership.key) <= gc.LEASE_SECONDS * 1000
    finally:
        client.delete(job.leadership.key)


def test_one_collection_at_a_time_on_a_data_directory(api, settings, samples, monkeypatch, db_url, database,
                                                      tmp_path, caplog):
    """The command and a server's daily pass (or two servers without Redis) never collect the same
    directory at once: whoever comes second says so and leaves everything as it is."""
    from referral.dicom import gc

    store = BlobStore(settings.data_dir)
    orphan = _orphan(store, tmp_path, samples["ct"][0])
    with open(settings.data_dir / gc.LOCK_NAME, "a") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)  # a collection at work
        busy = _cli(monkeypatch, settings, db_url, "gc")
        assert busy.exit_code == 1 and "another collection is running" in busy.output
        job = gc.collector(database, store)
        caplog.set_level(logging.INFO, logger="referral")
        assert job.run_once() is None and "skipped a pass" in caplog.text
        assert os.path.exists(orphan)
    result = _cli(monkeypatch, settings, db_url, "gc")
    assert result.exit_code == 0 and f"removed: {os.path.basename(orphan)}" in result.output
