"""The few SQL expressions that SQLite and PostgreSQL spell differently, each written for both.

Every function returns an expression that yields the same value on both
backends for the same data; tests/reports compare them on real databases.
"""

from __future__ import annotations

from sqlalchemy import (BigInteger, Float, Integer, Select, String, case, cast, func, literal, literal_column, or_,
                        select, true)
from sqlalchemy.sql.elements import ColumnElement


def is_postgres(dialect_name: str) -> bool:
    return dialect_name == "postgresql"


def epoch_seconds(column, dialect_name: str) -> ColumnElement:
    """Whole seconds since 1970 (fractions dropped), so differences agree between backends."""
    if is_postgres(dialect_name):
        return cast(func.floor(func.extract("epoch", column)), BigInteger)
    # SQLite stores "YYYY-MM-DD HH:MM:SS.ffffff" in UTC; %s truncates the fraction.
    return cast(func.strftime("%s", column), Integer)


def seconds_between(start, end, dialect_name: str) -> ColumnElement:
    return epoch_seconds(end, dialect_name) - epoch_seconds(start, dialect_name)


def _local_timestamp(column, offset_seconds: int):
    """PostgreSQL: the stored instant as a local wall-clock timestamp (no zone)."""
    return func.timezone("UTC", column) + literal_column(f"INTERVAL '{int(offset_seconds)} seconds'")


def local_month(column, offset_seconds: int, dialect_name: str) -> ColumnElement:
    """The instant's local month: PostgreSQL its first moment (a timestamp, cheaper to group by
    than text), SQLite 'YYYY-MM'. Both read the same as text cut to seven characters."""
    if is_postgres(dialect_name):
        return func.date_trunc("month", _local_timestamp(column, offset_seconds))
    return func.strftime("%Y-%m", column, f"{int(offset_seconds):+d} seconds")


def local_week(column, offset_seconds: int, dialect_name: str) -> ColumnElement:
    """The Monday that starts the instant's local week (PostgreSQL a timestamp, SQLite
    'YYYY-MM-DD'; the same as text cut to ten characters)."""
    if is_postgres(dialect_name):
        return func.date_trunc("week", _local_timestamp(column, offset_seconds))
    return func.date(column, f"{int(offset_seconds):+d} seconds", "weekday 0", "-6 days")


def binary_collation(column, dialect_name: str):
    """Order text by code point on both backends (SQLite's default; PostgreSQL's "C")."""
    return column.collate("C") if is_postgres(dialect_name) else column


def percentile_aggregate(fraction: float, value) -> ColumnElement:
    """PostgreSQL's own continuous percentile (an ordered-set aggregate)."""
    return func.percentile_cont(fraction).within_group(value)


def floor_int(value, dialect_name: str) -> ColumnElement:
    """floor() of a non-negative number as an integer (PostgreSQL's CAST rounds; SQLite's truncates)."""
    if is_postgres(dialect_name):
        return cast(func.floor(value), Integer)
    return cast(value, Integer)


def percentile_by_window(source, key_column: str, value_column: str, fractions: dict[str, float],
                         dialect_name: str) -> Select:
    """Continuous percentiles with window functions, for databases without `percentile_cont`.

    `source` is a subquery with a group key and a non-null numeric value. For each
    group and fraction p this computes exactly what PostgreSQL's percentile_cont
    does: with n values sorted ascending and pos = p * (n - 1), the value at
    floor(pos) plus (pos - floor(pos)) times the step to the next value.
    """
    key = source.c[key_column]
    value = source.c[value_column]
    ranked = select(
        key.label("k"),
        cast(value, Float).label("v"),
        func.row_number().over(partition_by=key, order_by=value).label("rn"),
        func.count().over(partition_by=key).label("n"),
    ).subquery("ranked")
    columns = [ranked.c.k.label("key")]
    wanted = []
    for name, fraction in fractions.items():
        pos = literal(fraction, Float) * (ranked.c.n - 1)
        low = floor_int(pos, dialect_name)
        first = func.max(case((ranked.c.rn == low + 1, ranked.c.v)))
        second = func.max(case((ranked.c.rn == low + 2, ranked.c.v)))
        proportion = func.max(pos - low)
        columns.append((first + proportion * (func.coalesce(second, first) - first)).label(name))
        wanted += [ranked.c.rn == low + 1, ranked.c.rn == low + 2]
    return select(*columns).where(or_(*wanted)).group_by(ranked.c.k)


def diagnosis_mentions(cohort: Select, case_table, dialect_name: str) -> Select:
    """One row (code, name) per case of `cohort` and working diagnosis code on it.

    Case.diagnoses is a JSON list of {code, name}. PostgreSQL stores JSONB and
    expands it with jsonb_array_elements, de-duplicating each case's own short
    list in a LATERAL subquery; SQLite stores text and expands it with json_each,
    de-duplicating with GROUP BY case and code. Anything that is not a list, and
    any element without a code, is skipped on both. When a case names a code
    twice, the name kept is the smallest by code point.
    """
    diagnoses = case_table.c.diagnoses
    if is_postgres(dialect_name):
        safe = case((func.jsonb_typeof(diagnoses) == "array", diagnoses), else_=literal_column("'[]'::jsonb"))
        elements = func.jsonb_array_elements(safe).table_valued("value").alias("e")
        value = elements.c.value
        code = value.op("->>")("code")
        name = binary_collation(func.coalesce(value.op("->>")("name"), ""), dialect_name)
        per_case = (
            select(code.label("code"), func.min(name).label("name"))
            .select_from(elements)
            .where(func.jsonb_typeof(value) == "object", code.is_not(None), code != "")
            .group_by(code)
            .lateral("d")
        )
        return cohort.with_only_columns(per_case.c.code, per_case.c.name).join(per_case, true())
    safe = case((func.json_type(diagnoses) == "array", diagnoses), else_="[]")
    elements = func.json_each(safe).table_valued("value", "type").alias("d")
    code = cast(func.json_extract(elements.c.value, "$.code"), String)
    name = func.coalesce(cast(func.json_extract(elements.c.value, "$.name"), String), "")
    return (
        cohort.with_only_columns(code.label("code"), func.min(name).label("name"))
        .join(elements, true())
        .where(elements.c.type == "object", code.is_not(None), code != "")
        .group_by(case_table.c.id, code)
    )
