"""The few SQL expressions that SQLite and PostgreSQL spell differently, each written for both.

Every function returns an expression that yields the same value on both
backends for the same data; tests/reports compare them on real databases.
"""

from __future__ import annotations

import sqlite3

import numpy as np
from sqlalchemy import BigInteger, Integer, Select, String, case, cast, func, literal_column, select, true
from sqlalchemy.sql.elements import ColumnElement


HAS_UNIXEPOCH = sqlite3.sqlite_version_info >= (3, 38, 0)


def is_postgres(dialect_name: str) -> bool:
    return dialect_name == "postgresql"


def epoch_seconds(column, dialect_name: str) -> ColumnElement:
    """Whole seconds since 1970 (fractions dropped), so differences agree between backends."""
    if is_postgres(dialect_name):
        # date_part() is a float8 (extract() a numeric: three times slower). It is exact here:
        # microseconds / 1e6 stays more than half a unit in the last place away from the next
        # whole second until the year 2242, so floor() never rounds up.
        return cast(func.floor(func.date_part("epoch", column)), BigInteger)
    # SQLite stores "YYYY-MM-DD HH:MM:SS.ffffff" in UTC. unixepoch() (3.38+) gives the same
    # integer as CAST(strftime('%s', ...) AS INTEGER), at half the cost.
    if HAS_UNIXEPOCH:
        return func.unixepoch(column, type_=Integer)
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


def integer_list(value, dialect_name: str, native: bool = True) -> ColumnElement:
    """An aggregate: the group's non-null integers, all of them, in no particular order.

    PostgreSQL packs them as 4-byte big-endian integers (`int4send`, bytea), which
    costs next to nothing to build, send and read; elsewhere (and on PostgreSQL with
    `native=False`) they come as comma-separated text. `decode_integer_list` reads
    either. Times in whole seconds fit in four bytes for 68 years.
    """
    if is_postgres(dialect_name):
        if native:
            return func.string_agg(func.int4send(cast(value, Integer)), literal_column("''::bytea"))
        return func.string_agg(cast(value, String), literal_column("','"))
    return func.group_concat(value)


def decode_integer_list(chunks: list) -> np.ndarray:
    """The integers of one or more `integer_list` values, as one numpy array of our own."""
    if isinstance(chunks[0], str):
        return np.fromstring(",".join(chunks), dtype=np.int64, sep=",")
    return np.frombuffer(b"".join(chunks), dtype=">i4").astype(np.int64)


def diagnosis_mentions(cohort: Select, case_table, dialect_name: str) -> Select:
    """One row (code, name, cases) per distinct diagnosis list among the cases of `cohort` and
    working diagnosis code on that list, with the number of cases that have the list.

    Case.diagnoses is a JSON list of {code, name}. Many cases share the same list, so
    the cases are first counted per list and each distinct list is read once. PostgreSQL
    stores JSONB and expands it with jsonb_array_elements, de-duplicating each list's
    own codes in a LATERAL subquery; SQLite stores text and expands it with json_each,
    de-duplicating with GROUP BY list and code. Anything that is not a list, and any
    element without a code, is skipped on both. When a list names a code twice, the
    name kept is the smallest by code point.
    """
    column = case_table.c.diagnoses
    lists = (cohort.with_only_columns(column.label("diagnoses"), func.count().label("cases"))
             .group_by(column).subquery("lists"))
    diagnoses = lists.c.diagnoses
    if is_postgres(dialect_name):
        safe = case((func.jsonb_typeof(diagnoses) == "array", diagnoses), else_=literal_column("'[]'::jsonb"))
        elements = func.jsonb_array_elements(safe).table_valued("value").alias("e")
        value = elements.c.value
        # Grouped and ordered by code point: far cheaper than the database's linguistic collation.
        code = binary_collation(value.op("->>")("code"), dialect_name)
        name = binary_collation(func.coalesce(value.op("->>")("name"), ""), dialect_name)
        per_list = (
            select(code.label("code"), func.min(name).label("name"))
            .select_from(elements)
            .where(func.jsonb_typeof(value) == "object", code.is_not(None), code != "")
            .group_by(code)
            .lateral("d")
        )
        return select(per_list.c.code, per_list.c.name, lists.c.cases).select_from(lists).join(per_list, true())
    safe = case((func.json_type(diagnoses) == "array", diagnoses), else_="[]")
    elements = func.json_each(safe).table_valued("value", "type").alias("d")
    code = cast(func.json_extract(elements.c.value, "$.code"), String)
    name = func.coalesce(cast(func.json_extract(elements.c.value, "$.name"), String), "")
    return (
        select(code.label("code"), func.min(name).label("name"), func.max(lists.c.cases).label("cases"))
        .select_from(lists)
        .join(elements, true())
        .where(elements.c.type == "object", code.is_not(None), code != "")
        .group_by(diagnoses, code)
    )
