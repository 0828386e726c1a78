"""Fitbit export + Google Health API → raw → dbt → every gold health table, with people synced from the config."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

EXPORT = Path(__file__).parents[1] / "fixtures" / "fitbit_export" / "Takeout"


def test_resting_heart_rate_gold_from_an_export(warehouse):
    from tracker import settings
    from tracker.config import load_config
    from tracker.sources.fitbit_export.importer import import_export
    from tracker.stack.local import dbt
    from tracker.warehouse.people import sync_people

    config = load_config()
    # GIVEN the configured people synced and an export imported
    sync_people(warehouse, config, "test-people")
    import_export(EXPORT, dsn=settings.warehouse_dsn(), person_id=config.people[0].id, config=config)
    # WHEN the health models build (twice: the second run is incremental)
    for _ in range(2):
        result = dbt("build", "--select", "+fct_resting_heart_rate_daily", "dim_person", check=False)
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    # THEN every local date with samples has a computed resting rate near the device's own figure
    rows = warehouse.execute(
        "select local_date, device_resting_bpm, computed_resting_bpm from gold.fct_resting_heart_rate_daily "
        "where computed_resting_bpm is not null order by local_date").fetchall()
    assert rows, "no computed resting heart rate"
    assert all(30 <= computed <= 120 for _, _, computed in rows)
    minutes = warehouse.execute("select count(*), count(distinct (person_id, minute_at)) "
                                "from silver.int_heart_rate_samples_aggregated_to_minutes").fetchone()
    assert minutes[0] == minutes[1] > 0
    assert warehouse.execute("select timezone from gold.dim_person where person_id = %s",
                             (config.people[0].id,)).fetchone() == (config.people[0].timezone,)


HEALTH_GOLD = ["fct_resting_heart_rate_daily", "fct_heart_rate_zones_daily", "fct_watch_worn_daily",
               "fct_sleep_daily", "fct_runs", "fct_activity_daily"]
API_START = datetime(2026, 10, 20, tzinfo=UTC)
API_END = datetime(2026, 10, 27, tzinfo=UTC)


def load_api_week(warehouse, person, tmp_path) -> None:
    """The demo Google Health API's week around the autumn DST switch, through the real extract."""
    from tracker import settings
    from tracker.sources.google_health import oauth
    from tracker.sources.google_health.client import GoogleHealthClient
    from tracker.sources.google_health.extract import extract_person
    from tracker.windows import ExtractWindow

    store = oauth.TokenStore(tmp_path / "google_health.json")
    store.save(oauth.Tokens("expired", "demo-refresh", datetime(2020, 1, 1, tzinfo=UTC)))
    endpoint = oauth.TokenEndpoint(oauth.OAuthClient("demo-client", "secret",
                                                     token_url=f"{settings.demo_url()}/google-health/oauth/token"))
    client = GoogleHealthClient(f"{settings.demo_url()}/google-health", oauth.TokenProvider(store, endpoint))
    extract_person(warehouse, client, person, ExtractWindow(API_START, API_END), "test-api",
                   repull=timedelta(0))


def test_every_health_gold_table_from_api_and_export_with_source_precedence(warehouse, demo_api, tmp_path):
    from tracker import settings
    from tracker.config import load_config
    from tracker.sources.fitbit_export.importer import import_export
    from tracker.stack.local import dbt
    from tracker.warehouse.people import sync_people

    config = load_config()
    person = config.people[0]
    sync_people(warehouse, config, "test-people")
    # GIVEN the export (March and October 2026 days) and a week of the API overlapping its 2026-10-25
    import_export(EXPORT, dsn=settings.warehouse_dsn(), person_id=person.id, config=config)
    load_api_week(warehouse, person, tmp_path)
    # WHEN every health model builds and tests (twice: the second run is incremental)
    for _ in range(2):
        result = dbt("build", "--select", *[f"+{m}" for m in HEALTH_GOLD], check=False)
        assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]

    def one(sql: str, *args):
        return warehouse.execute(sql, args).fetchone()

    # THEN every gold health table has rows
    for model in HEALTH_GOLD:
        assert one(f"select count(*) from gold.{model} where person_id = 'me'")[0] > 0, model
    # AND where both sources hold a date, the API's figures win (the export also has 2026-10-25)
    api_rhr = one("select bpm from raw.fitbit__resting_heart_rate"
                  " where person_id = 'me' and source = 'google_health_api'"
                  " and date = '2026-10-25'")[0]
    assert one("select device_resting_bpm::float8 from gold.fct_resting_heart_rate_daily"
               " where person_id = 'me' and local_date = '2026-10-25'")[0] == pytest.approx(api_rhr)
    assert one("select data_source from gold.fct_sleep_daily"
               " where person_id = 'me' and wake_date = '2026-10-25'")[0] == "google_health_api"
    # AND export-only dates still come from the export
    assert one("select device_resting_bpm::float8 from gold.fct_resting_heart_rate_daily"
               " where person_id = 'me' and local_date = '2026-03-28'")[0] == pytest.approx(58.41)
    # AND the DST day has 25 hours, all worn at the API's one sample per minute
    assert one("select day_minutes, worn_minutes, longest_gap_minutes from gold.fct_watch_worn_daily"
               " where person_id = 'me' and local_date = '2026-10-25'") == (1500, 1500, 0)
    # AND computed resting heart rate lands within 3 bpm of the device's on every full API day
    days = warehouse.execute(
        "select local_date, device_resting_bpm, computed_resting_bpm from gold.fct_resting_heart_rate_daily"
        " where person_id = 'me' and local_date between '2026-10-21' and '2026-10-26' order by 1").fetchall()
    assert len(days) == 6 and all(c is not None and abs(c - d) <= 3 for _, d, c in days), days
    # AND computed Karvonen zone minutes land within 2 minutes a day of the device's own zone minutes
    zone_rows = warehouse.execute(
        "select local_date, zone_minutes::float8, device_zone_minutes::float8 from gold.fct_heart_rate_zones_daily"
        " where person_id = 'me' and device_source = 'google_health_api'"
        " and local_date between '2026-10-21' and '2026-10-26'").fetchall()
    assert zone_rows and all(abs(z - d) <= 2 for _, z, d in zone_rows), zone_rows
    # AND runs: pace is active minutes per km, zone minutes from intraday add up to the run's covered time
    runs = warehouse.execute(
        "select distance_km::float8, active_minutes::float8, pace_min_per_km::float8, average_hr_bpm::float8,"
        " (light_minutes + moderate_minutes + vigorous_minutes + peak_minutes)::float8, elapsed_minutes::float8"
        " from gold.fct_runs where person_id = 'me' and data_source = 'google_health_api'").fetchall()
    assert runs
    for km, active, pace, hr, zone_minutes, elapsed in runs:
        assert abs(pace - active / km) < 0.01 and 3 <= km <= 15 and 120 <= hr <= 180
        assert abs(zone_minutes - elapsed) <= 2
    # AND sleep: durations from instants (the DST night lasts an hour longer than its clock times say)
    nights = warehouse.execute(
        "select wake_date, in_bed_minutes::float8, asleep_minutes::float8, efficiency_pct::float8, bedtime_local,"
        " wake_time_local from gold.fct_sleep_daily where person_id = 'me' and data_source = 'google_health_api'"
        " and asleep_minutes is not null").fetchall()
    assert nights
    for _, in_bed, asleep, efficiency, bed, wake in nights:
        assert 0 < asleep <= in_bed and 0 < efficiency <= 100
        clock = (wake - bed).total_seconds() / 60
        assert abs(in_bed - clock) in (0, 60)
    # AND daily activity carries the API's steps rollup and nightly vitals
    steps, hrv, spo2 = one("select steps, hrv_rmssd_ms, spo2_avg_pct from gold.fct_activity_daily"
                           " where person_id = 'me' and local_date = '2026-10-23'")
    assert steps == one("select steps from raw.fitbit__steps_daily where person_id = 'me' and date = '2026-10-23'")[0]
    assert hrv is not None and 90 <= spo2 <= 100


def import_dst_nights(warehouse, dst_sleep, tmp_path):
    """Sync the DST sleeper, import the two wall-clock nights, build sleep gold (and its tests)."""
    from tracker import settings
    from tracker.config import Person, TrackerConfig
    from tracker.sources.fitbit_export.importer import import_export
    from tracker.stack.local import dbt
    from tracker.warehouse.people import sync_people

    config = TrackerConfig(people=[Person(id=dst_sleep.PERSON, timezone=dst_sleep.ZONE)])
    sync_people(warehouse, config, "test-dst-sleep")
    import_export(dst_sleep.write_export(tmp_path), dsn=settings.warehouse_dsn(), person_id=dst_sleep.PERSON,
                  config=config)
    return dbt("build", "--select", "+fct_sleep_daily", check=False)


def test_sleep_across_dst_switches_in_wall_clock_export_stays_on_one_clock(warehouse, dst_sleep, tmp_path):
    # GIVEN a spring-forward (227 real minutes, 287 on the clock) and a fall-back night (540 real, 480 on the
    # clock) whose segment seconds and device summary follow the wall clock
    # WHEN they are imported and sleep gold builds with its tests
    result = import_dst_nights(warehouse, dst_sleep, tmp_path)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    # THEN every minute figure is real elapsed time, stage minutes add up to the time in bed
    rows = warehouse.execute(
        "select wake_date::text, in_bed_minutes::float8, asleep_minutes::float8, awake_minutes::float8,"
        " light_minutes::float8, deep_minutes::float8, rem_minutes::float8, wake_minutes::float8,"
        " efficiency_pct::float8 from gold.fct_sleep_daily where person_id = %s order by 1",
        (dst_sleep.PERSON,)).fetchall()
    assert [r[0] for r in rows] == sorted(dst_sleep.EXPECTED)
    for day, in_bed, asleep, awake, light, deep, rem, wake, efficiency in rows:
        want = dst_sleep.EXPECTED[day]
        assert (in_bed, asleep, awake, light, deep, rem, wake) == (
            want["in_bed"], want["asleep"], want["awake"], want["light"], want["deep"], want["rem"],
            want["wake"]), day
        assert efficiency == round(100 * want["asleep"] / want["in_bed"], 1)


# ------------------------------------------------- int_heart_rate_samples_aggregated_to_minutes change detection
HR_PEOPLE = ("hr_early", "hr_late", "hr_shrink", "hr_upgrade")
HR_DAY = datetime(2026, 6, 10, tzinfo=UTC)


@pytest.fixture()
def hr_people(warehouse):
    """Three people of their own (Europe/Berlin); their raw, change-log and silver rows are removed after."""
    from tracker.config import Person, TrackerConfig
    from tracker.warehouse.people import sync_people

    def clean():
        for table in ("raw.fitbit__heart_rate", "raw.tracker__people",
                      "silver.int_heart_rate_samples_aggregated_to_minutes"):
            if warehouse.execute("select to_regclass(%s)", (table,)).fetchone()[0]:
                warehouse.execute(f"delete from {table} where person_id = any(%s)", (list(HR_PEOPLE),))  # noqa: S608
        if warehouse.execute("select to_regclass('raw.fitbit__heart_rate_changes')").fetchone()[0]:
            warehouse.execute("delete from raw.fitbit__heart_rate_changes where person_id = any(%s)",
                              (list(HR_PEOPLE),))

    clean()
    sync_people(warehouse, TrackerConfig(people=[Person(id=p, timezone="Europe/Berlin") for p in HR_PEOPLE]),
                "test-hr-people")
    yield HR_PEOPLE
    clean()


def replace_hr(conn, person: str, minutes: int, start: datetime = HR_DAY, day_end: datetime | None = None):
    """The API's heart-rate load: the window [start, start + 1 day) replaced by 2 samples a minute."""
    from tracker.sources.fitbit_export import tables
    from tracker.warehouse.loader import Window, replace_window

    rows = [(person, start + timedelta(seconds=30 * i), 60 + i % 20, None, "google_health_api", "api")
            for i in range(2 * minutes)]
    window = Window(start, day_end or start + timedelta(days=1),
                    scope={"person_id": person, "source": "google_health_api"})
    return replace_window(conn, tables.HEART_RATE, rows, run_id=f"test-{person}", window=window)


def silver_minutes(warehouse, person: str) -> int:
    return warehouse.execute("select count(*) from silver.int_heart_rate_samples_aggregated_to_minutes "
                             "where person_id = %s",
                             (person,)).fetchone()[0]


def run_minutely(*extra: str):
    from tracker.stack.local import dbt

    result = dbt("run", "--select", "+int_heart_rate_samples_aggregated_to_minutes", *extra, check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_minutely_picks_up_a_load_that_commits_after_a_later_started_one(warehouse, hr_people):
    import psycopg
    from tracker import settings

    run_minutely()
    # GIVEN load A starts (its _loaded_at is its start), then load B starts and commits
    with psycopg.connect(settings.warehouse_dsn()) as conn_a:
        with conn_a.transaction():
            replace_hr(conn_a, "hr_early", 90)
            replace_hr(warehouse, "hr_late", 30)
            # AND dbt runs while A is still open: it sees B only
            run_minutely()
            assert silver_minutes(warehouse, "hr_late") == 30 and silver_minutes(warehouse, "hr_early") == 0
        # WHEN A commits and dbt runs again (incrementally)
    run_minutely()
    # THEN A's samples reach silver too
    assert silver_minutes(warehouse, "hr_early") == 90


def test_minutely_drops_minutes_whose_samples_were_deleted_from_raw(warehouse, hr_people):
    run_minutely()
    # GIVEN a day of 120 minutes in silver
    replace_hr(warehouse, "hr_shrink", 120)
    run_minutely()
    assert silver_minutes(warehouse, "hr_shrink") == 120
    # WHEN the API answers the same window again with only its first 60 minutes (a window replace)
    replace_hr(warehouse, "hr_shrink", 60)
    run_minutely()
    # THEN the incremental run reflects raw: 60 minutes, as a full refresh would give
    assert silver_minutes(warehouse, "hr_shrink") == warehouse.execute(
        "select count(distinct date_trunc('minute', observed_at)) from raw.fitbit__heart_rate"
        " where person_id = 'hr_shrink'").fetchone()[0] == 60


def test_minutely_built_by_the_previous_version_upgrades_in_place(warehouse, hr_people):
    # GIVEN the per-minute table as the previous version left it (marker column loaded_through) and a load
    # that version never saw (no change-log row for it)
    run_minutely()
    replace_hr(warehouse, "hr_upgrade", 45)
    warehouse.execute("delete from raw.fitbit__heart_rate_changes where person_id = 'hr_upgrade'")
    warehouse.execute("alter table silver.int_heart_rate_samples_aggregated_to_minutes drop column changes_through")
    warehouse.execute("alter table silver.int_heart_rate_samples_aggregated_to_minutes "
                      "add column loaded_through timestamptz")
    # WHEN the new version runs incrementally (no --full-refresh)
    run_minutely()
    # THEN it succeeds, has its marker column, and holds every person's minutes as a full refresh would
    columns = [r[0] for r in warehouse.execute(
        "select column_name from information_schema.columns where table_schema = 'silver'"
        " and table_name = 'int_heart_rate_samples_aggregated_to_minutes'")]
    assert "changes_through" in columns
    assert silver_minutes(warehouse, "hr_upgrade") == 45
