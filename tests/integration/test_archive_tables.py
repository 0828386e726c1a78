"""What the archive covers, from the DDL and the source catalogue: every raw table (or a reason it is not), never
the auth schema, and an event-time column no row can lack."""

from __future__ import annotations


def test_every_raw_table_is_archived_or_excluded_with_a_reason_and_auth_never():
    from tracker.archive.tables import EXCLUDED, archivable_tables
    from tracker.sources.catalogue import raw_tables
    from tracker.warehouse.loader import _ddl_tables

    archived = {t.qualified for t in archivable_tables()}
    declared = set(_ddl_tables())
    raw = {t for t in declared if t.startswith("raw.")}
    assert raw == archived | set(EXCLUDED), raw ^ (archived | set(EXCLUDED))
    assert not archived & set(EXCLUDED)
    assert {t.qualified for t in raw_tables()} <= archived
    assert {"raw.quarantine", "raw.tracker__people"} <= archived
    assert not any(t.startswith("auth.") for t in archived) and "auth.oauth_tokens" in declared


def test_monthly_tables_partition_on_a_not_null_column():
    """A row whose event time were NULL would belong to no month: every monthly table's column is NOT NULL."""
    from tracker.archive.tables import archivable_tables
    from tracker.warehouse.loader import _ddl_tables

    ddl = _ddl_tables()
    for t in archivable_tables():
        if t.monthly:
            spec = ddl[t.qualified][0][t.event_column]
            assert "not null" in spec or "primary key" in spec, (t.qualified, t.event_column, spec)
            assert t.event_type in ("timestamptz", "date")
        else:
            assert t.qualified in ("raw.quarantine", "raw.tracker__people"), t
