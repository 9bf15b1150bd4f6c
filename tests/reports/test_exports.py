"""The downloads of the report page, opened with independent readers: Python's csv module,
openpyxl, and poppler's pdftotext/pdffonts. And the line list: masked, audit-logged."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from datetime import datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from referral.models import AuditEntry, Case
from tests.web.conftest import sign_in

QUERY = "from=2024-03-01&to=2024-03-31"


@pytest.fixture
def admin(app):
    client = app.test_client()
    assert sign_in(client, "county.admin").status_code == 302
    return client


@pytest.fixture
def poppler():
    if not shutil.which("pdftotext"):
        pytest.fail("poppler-utils is missing (make system-deps installs it)")


def test_csv_opens_with_the_right_columns_and_chinese_intact(admin, march):
    r = admin.get(f"/reports/export.csv?{QUERY}")
    assert r.status_code == 200 and r.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in r.headers["Content-Disposition"]
    assert r.data[:3] == b"\xef\xbb\xbf"  # Excel reads UTF-8 only with the byte-order mark
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert rows[0][:5] == ["分组", "代码", "名称", "提交病例", "已结案"]
    assert len({len(row) for row in rows}) == 1
    by_label = {row[2]: row for row in rows}
    assert by_label["郧西县人民医院"][0] == "facility"
    assert by_label["乡镇卫生院"][0] == "tier"
    assert by_label["原发性高血压"][:2] == ["diagnosis", "I10"] and by_label["原发性高血压"][3] == "3"
    total = rows[1]
    assert total[0] == "total" and total[3] == "7"


def test_xlsx_has_typed_cells(admin, march):
    r = admin.get(f"/reports/export.xlsx?{QUERY}")
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.data))
    assert wb.sheetnames == ["概要", "按级别", "机构", "按月", "按周", "诊断"]
    summary = wb["概要"]
    assert summary["B2"].value == datetime(2024, 3, 1) and summary["B2"].is_date
    figures = {row[0].value: row[1] for row in summary.iter_rows(min_row=12) if row[0].value}
    assert figures["提交病例"].value == 7 and isinstance(figures["提交病例"].value, int)
    assert figures["上转率"].value == pytest.approx(2 / 7, abs=1e-4) and figures["上转率"].number_format == "0.0%"
    assert figures["接诊用时中位数（分钟）"].value == 75.0
    tiers = wb["按级别"]
    header = [c.value for c in tiers[1]]
    county = next(row for row in tiers.iter_rows(min_row=2) if row[0].value == "县级")
    cell = county[header.index("接诊用时中位数（分钟）")]
    assert cell.value == 300.0 and cell.data_type == "n"
    months = wb["按月"]
    assert months["A2"].value == datetime(2024, 3, 1) and months["A2"].number_format == "yyyy-mm"
    diagnoses = wb["诊断"]
    assert [c.value for c in diagnoses[2]] == ["I10", "原发性高血压", 3]
    facilities = wb["机构"]
    codes = [row[0].value for row in facilities.iter_rows(min_row=2)]
    assert "YX-RMYY" in codes and "YX-T02" in codes


def test_pdf_reads_back_with_poppler(admin, march, poppler, tmp_path):
    r = admin.get(f"/reports/export.pdf?{QUERY}&urgency=urgent")
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/pdf"
    path = tmp_path / "report.pdf"
    path.write_bytes(r.data)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "转诊统计报告" in text
    assert "2024-03-01 – 2024-03-31" in text
    assert "紧急程度: 紧急" in text  # the filter used is printed
    assert "郧西县人民医院" in text and "各级接诊用时" in text  # a table and a chart's text
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    embedded = [line for line in fonts.splitlines()[2:] if line.strip()]
    assert embedded and all(" yes " in line for line in embedded)
    assert all("Referral" in line for line in embedded), fonts  # only the project's own fonts, charts too


def test_line_list_is_masked_and_its_export_audited(admin, session, march):
    r = admin.get(f"/reports/line-list.csv?{QUERY}")
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert len(rows) == 7
    reference = session.get(Case, march.ids["A"]).reference
    a = next(row for row in rows if row["病例编号"] == reference)
    assert a["身份证号（已脱敏）"] == "420322********0030"
    assert (a["紧急程度"], a["专科"], a["状态"], a["结局"], a["转出级别"]) == ("紧急", "心血管内科", "已结案", "已转诊", "村卫生室")
    assert a["经手机构数"] == "2" and a["上转次数"] == "1" and a["提交时间"] == "2024-03-04 09:00"
    assert "420322196005010030" not in r.data.decode("utf-8-sig")
    assert "测试患者" not in r.data.decode("utf-8-sig")  # no names
    entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "reports.line_list.export")).all()
    assert len(entries) == 1
    assert entries[0].details["rows"] == 7 and entries[0].details["format"] == "csv"
    assert entries[0].details["filter"]["from"] == "2024-03-01"

    x = admin.get(f"/reports/line-list.xlsx?{QUERY}")
    wb = load_workbook(io.BytesIO(x.data))
    sheet = wb.active
    assert sheet.max_row == 8
    submitted = sheet["B2"]
    assert submitted.is_date and submitted.value == datetime(2024, 3, 4, 9, 0)  # Beijing time
    session.expire_all()
    assert len(session.scalars(select(AuditEntry).where(AuditEntry.action == "reports.line_list.export")).all()) == 2


def test_aggregate_exports_carry_no_patient_identifiers(admin, march):
    for fmt in ("csv", "xlsx"):
        body = admin.get(f"/reports/export.{fmt}?{QUERY}").data
        if fmt == "xlsx":
            wb = load_workbook(io.BytesIO(body))
            body = "\n".join(str(c.value) for ws in wb for row in ws.iter_rows() for c in row).encode()
        text = body.decode("utf-8-sig", errors="replace")
        assert "420322" not in text and "测试患者" not in text


def test_formula_like_text_stays_text(admin, session, users, march):
    """A diagnosis name typed like a spreadsheet formula is exported as text, never as a formula."""
    from referral.services import cases as case_service
    from referral.services.inputs import CaseIn, parse
    from tests.reports.conftest import local

    data = parse(CaseIn, {"patient": {"name": "患者", "sex": "male"}, "urgency": "routine",
                          "specialty": "internal_medicine", "chief_complaint": "咳嗽", "clinical_question": "？",
                          "diagnoses": [{"code": "Z99.9", "name": '=HYPERLINK("http://x","y")'}]})
    case = case_service.create_draft(session, users["village.doctor"], data, now=local("2024-03-02 09:00"))
    case_service.perform_action(session, users["village.doctor"], case.id, "submit", now=local("2024-03-02 09:10"))
    rows = list(csv.reader(io.StringIO(admin.get(f"/reports/export.csv?{QUERY}").data.decode("utf-8-sig"))))
    row = next(r for r in rows if r[1] == "Z99.9")
    assert row[2] == '\'=HYPERLINK("http://x","y")'
    wb = load_workbook(io.BytesIO(admin.get(f"/reports/export.xlsx?{QUERY}").data))
    cell = next(r[1] for r in wb["诊断"].iter_rows(min_row=2) if r[0].value == "Z99.9")
    assert cell.value == '=HYPERLINK("http://x","y")' and cell.data_type == "s"
