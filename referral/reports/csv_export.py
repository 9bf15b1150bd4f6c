"""CSV exports: UTF-8 with a byte-order mark, so that Excel opens the Chinese text correctly.

Text cells that a spreadsheet would read as a formula (=, +, -, @ first) are
prefixed with an apostrophe: diagnosis names and notes are typed by users.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from .figures import FIGURE_COLUMNS, TOTAL, TOTAL_KEY
from .filters import LOCAL_TZ
from .labels import group_label, line_value, title
from .line_list import COLUMNS as LINE_COLUMNS

BOM = "\ufeff"
CONTENT_TYPE = "text/csv; charset=utf-8"


def report_csv(report, groupings: Sequence[str], *, titles: bool = False, diagnoses: bool = False) -> bytes:
    """One table: a row for the total and one per group of each grouping, with every figure.

    The first columns say which grouping and group a row is (`group_by`, `key`,
    `label`); `titles` puts readable column titles in the header instead of the
    stable column names of the API.
    """
    names = ["group_by", "key", "label", *FIGURE_COLUMNS]
    header = [title(n) if titles else n for n in names]
    rows: list[list] = [header]
    rows.append([TOTAL, TOTAL_KEY, group_label(report, TOTAL, TOTAL_KEY), *_figures(report.total)])
    for grouping in groupings:
        for key, figures in report.rows(grouping):
            rows.append([grouping, key, group_label(report, grouping, key), *_figures(figures)])
    if diagnoses:
        submitted = FIGURE_COLUMNS.index("submitted")
        for d in report.diagnoses:
            values = [""] * len(FIGURE_COLUMNS)
            values[submitted] = d.cases
            rows.append(["diagnosis", d.code, d.name, *values])
    return _encode(rows)


def line_list_csv(line_list, *, titles: bool = True) -> bytes:
    header = [title(n) if titles else n for n in LINE_COLUMNS]
    rows: list[list] = [header]
    for item in line_list.items:
        row = []
        for name in LINE_COLUMNS:
            value = line_value(item, name)
            if name in ("submitted_at", "closed_at") and value is not None:
                value = value.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
            row.append(value)
        rows.append(row)
    return _encode(rows)


def _figures(figures) -> list:
    values = figures.as_dict()
    return [values.get(n) for n in FIGURE_COLUMNS]


def _encode(rows: Iterable[Sequence]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return (BOM + out.getvalue()).encode("utf-8")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
