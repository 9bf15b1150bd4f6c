"""Referral reports for administrators: how many cases go up, from where, how fast they are
answered, how many are resolved without sending the patient away, and where the bottlenecks are.

- `filters`: the report filter (a period of Asia/Shanghai dates and optional slices).
- `figures`: the figures, computed in SQL from cases and hops (PostgreSQL and SQLite, same numbers).
- `sql`: the few expressions the two databases spell differently.
- `line_list`: the case-level list behind the aggregates (masked, audit-logged by the service).
- `document`, `charts`, `labels`: the report laid out for reading, with server-drawn SVG charts.
- `csv_export`, `xlsx_export`, `pdf_export`, `json_export`: the downloads.
- `views`: the `/reports` page; `cli`: `referral report`.

The use cases (who may see which report) are in `referral/services/reports.py`.
"""
