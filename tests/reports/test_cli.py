"""`referral report` and `referral seed-bulk` on the command line."""

from __future__ import annotations

import csv
import io
import json

from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import func, select

from referral.cli import main
from referral.models import Case


def run(db_url, tmp_path, *args):
    env = {"REFERRAL_DATABASE_URL": db_url, "REFERRAL_DATA_DIR": str(tmp_path), "REFERRAL_SECRET_KEY": "cli-test",
           "REFERRAL_REDIS_URL": ""}
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_report_as_json_csv_and_xlsx(db_url, tmp_path, march):
    r = run(db_url, tmp_path, "report", "--from", "2024-03-01", "--to", "2024-03-31", "--group-by", "tier",
            "--format", "json")
    assert r.exit_code == 0, r.output
    body = json.loads(r.stdout_bytes.decode("utf-8"))
    assert body["total"]["submitted"] == 7 and [row["key"] for row in body["rows"]][:2] == ["village", "township"]

    r = run(db_url, tmp_path, "report", "--from", "2024-03-01", "--to", "2024-03-31", "--group-by", "facility",
            "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(r.stdout_bytes.decode("utf-8-sig"))))
    assert any(row["label"] == "郧西县人民医院" and row["received"] == "2" for row in rows)

    out = tmp_path / "report.xlsx"
    r = run(db_url, tmp_path, "report", "--from", "2024-03-01", "--to", "2024-03-31", "--format", "xlsx",
            "--output", str(out), "--user", "township.admin")
    assert r.exit_code == 0, r.output
    summary = load_workbook(out)["概要"]
    figures = {row[0].value: row[1].value for row in summary.iter_rows() if row[0].value}
    assert figures["提交病例"] == 6  # the township administrator's jurisdiction


def test_report_refuses_bad_input_clearly(db_url, tmp_path):
    r = run(db_url, tmp_path, "report", "--from", "2024-03-31", "--to", "2024-03-01")
    assert r.exit_code == 2 and "from" in r.output
    r = run(db_url, tmp_path, "report", "--user", "village.doctor")
    assert r.exit_code == 2 and "administrators" in r.output
    r = run(db_url, tmp_path, "report", "--format", "pdf")
    assert r.exit_code == 2 and "--output" in r.output


def test_seed_bulk(db_url, tmp_path, session):
    before = session.scalar(select(func.count(Case.id)))
    r = run(db_url, tmp_path, "seed-bulk", "--cases", "120", "--years", "0.5")
    assert r.exit_code == 0, r.output
    assert "cases: 120" in r.output
    session.expire_all()
    assert session.scalar(select(func.count(Case.id))) == before + 120
    assert run(db_url, tmp_path, "seed-bulk", "--cases", "0").exit_code == 2
