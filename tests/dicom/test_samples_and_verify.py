"""The synthetic studies pass dicom3tools' `dciodvfy` without errors, and `referral dicom verify`
finds stored files that changed or vanished."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from referral.cli import main

from .conftest import new_case, upload


@pytest.mark.skipif(shutil.which("dciodvfy") is None and not os.environ.get("CI"),
                    reason="dicom3tools (dciodvfy) is not installed")
def test_samples_pass_dciodvfy(samples):
    assert len(samples["ct"]) >= 40
    checked = 0
    for key, paths in samples.items():
        for path in paths[:: max(len(paths) // 6, 1)]:
            result = subprocess.run(["dciodvfy", str(path)], capture_output=True, timeout=60)
            output = result.stdout.decode("latin-1") + result.stderr.decode("latin-1")
            errors = [line for line in output.splitlines() if line.startswith("Error")]
            assert errors == [], (key, path.name, errors)
            checked += 1
    assert checked >= 10


def test_samples_are_deterministic(samples, tmp_path):
    from dicom_samples.generate import chest_cr

    (again,) = chest_cr(tmp_path)
    assert again.read_bytes() == samples["cr"][0].read_bytes()


def test_verify_reports_changed_and_vanished_files(api, settings, samples, monkeypatch, db_url):
    cid = new_case(api)
    assert upload(api, "village.doctor", cid, samples["ct"][:3]).status_code == 201
    monkeypatch.setenv("REFERRAL_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("REFERRAL_DATABASE_URL", db_url)
    runner = CliRunner()
    clean = runner.invoke(main, ["dicom", "verify"])
    assert clean.exit_code == 0, clean.output
    assert "files checked: 3, intact: 3, changed: 0, vanished: 0" in clean.output

    files = sorted((settings.data_dir / "files").rglob("*"))
    files = [f for f in files if f.is_file()]
    changed, vanished = files[0], files[1]
    changed.chmod(0o640)
    data = bytearray(changed.read_bytes())
    data[-1] ^= 0xFF  # one bit of one pixel
    changed.write_bytes(bytes(data))
    vanished.unlink()
    result = runner.invoke(main, ["dicom", "verify"])
    assert result.exit_code == 1
    assert f"changed: {changed.name}" in result.output and f"vanished: {vanished.name}" in result.output
    assert "files checked: 3, intact: 1, changed: 1, vanished: 1" in result.output
