"""The raw Fitbit tables (declared in warehouse/ddl/020_fitbit.sql and 025_fitbit_activity.sql), shared by
the Google Health API extract and the Fitbit export importer; each row's `source` says which wrote it.

Column order is the DDL's (`RawTable.from_ddl`); rows are built by column name (`row_tuple`), never by
position. Daily tables are windowed by `date`, minute tables by `observed_at`.
"""

from __future__ import annotations

from tracker.warehouse.loader import RawTable

RESTING_HEART_RATE = RawTable.from_ddl("fitbit__resting_heart_rate", window_column="date")
HEART_RATE_ZONES = RawTable.from_ddl("fitbit__heart_rate_zones_daily", window_column="date")
HEART_RATE_ZONE_LIMITS = RawTable.from_ddl("fitbit__heart_rate_zone_limits", window_column="date")
RESPIRATORY_RATE_DAILY = RawTable.from_ddl("fitbit__respiratory_rate_daily", window_column="date")
STEPS_DAILY = RawTable.from_ddl("fitbit__steps_daily", window_column="date")
STEPS_MINUTE = RawTable.from_ddl("fitbit__steps_minute", window_column="observed_at")
EXERCISES = RawTable.from_ddl("fitbit__exercises", window_column="start_at")
HRV_DAILY = RawTable.from_ddl("fitbit__hrv_daily", window_column="date")
SPO2_DAILY = RawTable.from_ddl("fitbit__spo2_daily", window_column="date")
SPO2_MINUTE = RawTable.from_ddl("fitbit__spo2_minute", window_column="observed_at")
SLEEP_SESSIONS = RawTable.from_ddl("fitbit__sleep_sessions")
SLEEP_STAGES = RawTable.from_ddl("fitbit__sleep_stages")
SLEEP_SCORES = RawTable.from_ddl("fitbit__sleep_scores")
# no primary key (BRIN only, see the DDL): the key is what one export file's load replaces a sample by
HEART_RATE = RawTable.from_ddl("fitbit__heart_rate", key=("person_id", "source", "source_file", "observed_at"),
                               window_column="observed_at")

ALL = (HEART_RATE, RESTING_HEART_RATE, HEART_RATE_ZONES, SLEEP_SESSIONS, SLEEP_STAGES, HRV_DAILY, SPO2_DAILY,
       SPO2_MINUTE, SLEEP_SCORES, HEART_RATE_ZONE_LIMITS, RESPIRATORY_RATE_DAILY, STEPS_DAILY, STEPS_MINUTE, EXERCISES)


def row_tuple(table: RawTable, row: dict, base: dict) -> tuple:
    """One row in the table's column order: `base` values first, then `row`'s (absent columns are null)."""
    return tuple(base[c] if c in base else row.get(c) for c in table.columns)
