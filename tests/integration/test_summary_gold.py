"""Daily / weekly summary, correlations and anomalies on 30 days of demo data from every non-health source.

GitHub, Last.fm, Trakt and Open-Meteo come from the demo APIs through the real extracts, Netflix / Spotify /
YouTube from the demo export files through the real importers; dbt builds the gold models. Every figure of
the four models is then recomputed here in Python from fct_daily_summary (and that table from the facts it
joins), following the rules in their docs — a second implementation to disagree with. There is no health
data, so the health columns must be null (the contract until health data exists).
"""

from __future__ import annotations

import math
import statistics
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from tracker.config import Location, Person, TrackerConfig

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

TODAY = date(2026, 11, 24)
START, END = datetime(2026, 10, 25, tzinfo=UTC), datetime(2026, 11, 24, tzinfo=UTC)
RAW = ("raw.github__commits", "raw.github__pull_requests", "raw.github__reviews", "raw.github__issues",
       "raw.github__contributions_daily", "raw.lastfm__scrobbles", "raw.trakt__history",
       "raw.spotify__streams", "raw.netflix__viewing_activity", "raw.youtube__watch_history",
       "raw.open_meteo__hourly", "raw.quarantine", "raw.tracker__people")
PAIRS = {  # pair: (x column, y column, x lag in days)
    "sleep_minutes__commits": ("asleep_minutes", "commits", 0),
    "steps__temperature_max": ("steps", "temperature_max_c", 0),
    "bedtime_screen__sleep_efficiency": ("bedtime_screen_minutes", "sleep_efficiency_pct", 1),
    "active_minutes__resting_bpm": ("active_minutes", "resting_bpm", 1),
    "bedtime_screen__commits": ("bedtime_screen_minutes", "commits", 1),
    "music_minutes__focus_minutes": ("music_minutes", "focus_minutes", 0),
}
METRICS = {"commits": "github", "focus_minutes": "github", "productivity_score": "github",
           "listened_minutes": "consumption", "watched_minutes": "consumption",
           "late_night_screen_minutes": "consumption", "steps": "health", "active_minutes": "health",
           "asleep_minutes": "health", "sleep_efficiency_pct": "health", "resting_bpm": "health",
           "hrv_rmssd_ms": "health", "temperature_mean_c": "weather", "precipitation_sum_mm": "weather"}


@pytest.fixture()
def person(warehouse, tmp_path, monkeypatch):
    made = Person(id=f"t_sum_{uuid.uuid4().hex[:8]}", timezone="Europe/Berlin",
                  locations=[Location(name="home", latitude=52.52, longitude=13.41, timezone="Europe/Berlin")],
                  accounts={"github": "demo-user", "lastfm": "demo-user", "trakt": "demo-user"})
    config = tmp_path / "people.yml"
    config.write_text(f"people:\n  - id: {made.id}\n    timezone: Europe/Berlin\n")
    monkeypatch.setenv("TRACKER_CONFIG", str(config))  # the demo export import reads the config
    yield made
    for table in RAW:
        warehouse.execute(f"delete from {table} where person_id = %s", (made.id,))


def load_everything(conn, person: Person, demo_url: str, exports) -> None:
    from tracker import settings
    from tracker.demo.exports import import_demo_exports
    from tracker.sources.github import extract as github
    from tracker.sources.github.client import GitHubClient
    from tracker.sources.lastfm import extract as lastfm
    from tracker.sources.lastfm.client import LastfmClient
    from tracker.sources.open_meteo import extract as weather
    from tracker.sources.open_meteo.client import OpenMeteoClient
    from tracker.sources.trakt import extract as trakt
    from tracker.sources.trakt.client import TraktClient
    from tracker.warehouse.people import sync_people
    from tracker.windows import ExtractWindow

    config, window, run = TrackerConfig(people=[person]), ExtractWindow(START, END), "test-summary"
    sync_people(conn, config, run)
    github.extract_and_load(conn, lambda login: GitHubClient(
        "t", login, rest_url=f"{demo_url}/github/api", graphql_url=f"{demo_url}/github/api/graphql"),
        config, window, run)
    lastfm.extract_and_load(conn, lambda user: LastfmClient("k", user, base_url=f"{demo_url}/lastfm/2.0/"),
                            config, window, run)
    trakt.extract_and_load(conn, TraktClient("c", "t", base_url=f"{demo_url}/trakt"), config, window, run)
    weather.extract_and_load(conn, OpenMeteoClient(archive_url=f"{demo_url}/open-meteo/v1/archive",
                                                   forecast_url=f"{demo_url}/open-meteo/v1/forecast"),
                             config, window, run)
    import_demo_exports(30, today=TODAY, folder=exports, dsn=settings.warehouse_dsn(), echo=lambda _: None)


def rows_of(conn, sql: str, person_id: str) -> list[dict]:
    cur = conn.execute(sql, (person_id,))
    names = [c.name for c in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def pearson(pairs: list[tuple[float, float]]) -> float | None:
    xs, ys = [p[0] for p in pairs], [p[1] for p in pairs]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx, syy = sum((x - mx) ** 2 for x in xs), sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in pairs) / math.sqrt(sxx * syy)


def test_summary_models_match_their_documented_rules(warehouse, person, demo_api, tmp_path):
    from tracker.stack.local import dbt

    load_everything(warehouse, person, demo_api, tmp_path / "exports")
    # WHEN everything up to the summary is built, then the four models with their tests and unit tests
    # (the upstream models' own tests run in their own test modules)
    for args in (("run", "--select", "+fct_daily_summary"),
                 ("build", "--select", "fct_daily_summary", "fct_weekly_summary", "fct_correlations",
                  "fct_anomalies")):
        result = dbt(*args, check=False)
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    daily = rows_of(warehouse, "select * from gold.fct_daily_summary where person_id = %s order by local_date",
                    person.id)
    by_date = {r["local_date"]: r for r in daily}

    # THEN the daily summary is a gap-free spine over every source's dates
    facts = {name: {r["local_date"]: r for r in rows_of(warehouse, f"select * from gold.{name} where person_id = %s",
                                                         person.id)}
             for name in ("fct_productivity_daily", "fct_consumption_daily")}
    weather = {r["local_date"]: r for r in rows_of(
        warehouse, "select * from gold.fct_weather_daily where person_id = %s and location_name = 'home'", person.id)}
    all_dates = set(facts["fct_productivity_daily"]) | set(facts["fct_consumption_daily"]) | set(weather)
    first, last = min(all_dates), max(all_dates)
    assert [r["local_date"] for r in daily] == [first + timedelta(days=k) for k in range((last - first).days + 1)]
    # AND each source's columns come from its fact (null without a row; consumption 0 inside its span)
    span = (min(facts["fct_consumption_daily"]), max(facts["fct_consumption_daily"]))
    for d, row in by_date.items():
        prod, cons, wx = facts["fct_productivity_daily"].get(d), facts["fct_consumption_daily"].get(d), weather.get(d)
        assert row["commits"] == (prod and prod["commits"]) and row["has_github_data"] == (prod is not None)
        assert row["focus_minutes"] == (prod and prod["focus_minutes"])
        inside = span[0] <= d <= span[1]
        assert row["watched_minutes"] == (cons["watched_minutes"] if cons else (0 if inside else None)), d
        assert row["late_night_screen_minutes"] == (
            cons["late_night_screen_minutes"] if cons else (0 if inside else None)), d
        assert row["temperature_max_c"] == (wx and wx["temperature_max_c"])
        assert row["weather_location"] == (wx and "home")
        assert not row["has_health_data"] and row["steps"] is None and row["asleep_minutes"] is None
    assert sum(r["commits"] or 0 for r in daily) > 50 and sum(r["watched_minutes"] or 0 for r in daily) > 500

    # AND the weekly summary is the daily one per ISO week
    weeks: dict = defaultdict(lambda: {"days": 0, "commits": None, "watched": None, "monday": None})
    for d, row in by_date.items():
        year, week, weekday = d.isocalendar()
        w = weeks[(year, week)]
        w["days"] += 1
        w["monday"] = d - timedelta(days=weekday - 1)
        for key, col in (("commits", "commits"), ("watched", "watched_minutes")):
            if row[col] is not None:
                w[key] = (w[key] or 0) + row[col]
    got = {(r["iso_year"], r["iso_week"]): {"days": r["days_covered"], "commits": r["commits"],
                                             "watched": r["watched_minutes"], "monday": r["week_start"]}
           for r in rows_of(warehouse, "select * from gold.fct_weekly_summary where person_id = %s", person.id)}
    assert got == dict(weeks)

    # AND every correlation row is Pearson's r over the documented window, with n ≥ 10
    dates = sorted(by_date)

    def observations(pair: str) -> dict[date, tuple[float, float]]:
        x_col, y_col, lag = PAIRS[pair]
        out = {}
        for d in dates:
            x_day = by_date.get(d - timedelta(days=lag))
            x, y = x_day and x_day[x_col], by_date[d][y_col]
            if x is not None and y is not None:
                out[d] = (float(x), float(y))
        return out

    expected = {}
    for pair in PAIRS:
        obs = observations(pair)
        for end in dates:
            window = [v for d, v in obs.items() if end - timedelta(days=27) <= d <= end]
            if len(window) >= 10:
                expected[(pair, "rolling_28d", end)] = (len(window), pearson(window))
        if len(obs) >= 10:
            expected[(pair, "all_time", max(obs))] = (len(obs), pearson(list(obs.values())))
    correlations = {(r["pair"], r["window_kind"], r["window_end"]): (r["n"], r["pearson_r"])
                    for r in rows_of(warehouse, "select * from gold.fct_correlations where person_id = %s", person.id)}
    assert correlations.keys() == expected.keys()
    for key, (n, r) in expected.items():
        assert correlations[key][0] == n, key
        assert correlations[key][1] == (None if r is None else round(Decimal(r), 3)), key
    assert {k[0] for k in correlations} >= {"bedtime_screen__commits", "music_minutes__focus_minutes"}

    # AND the anomalies are exactly the 2σ days of the trailing 28 days and the days a source was missing
    want = set()
    for metric, source in METRICS.items():
        for d in dates:
            value = by_date[d][metric]
            before = [float(by_date[p][metric]) for p in dates
                      if d - timedelta(days=28) <= p < d and by_date[p][metric] is not None]
            if value is None or len(before) < 14:
                continue
            mean, sd = statistics.fmean(before), statistics.stdev(before)
            if sd > 0 and abs(float(value) - mean) > 2 * sd:
                want.add((d, "high" if float(value) > mean else "low", metric, source, len(before)))
    for source in ("github", "consumption", "weather", "health"):
        present = [d for d in dates if by_date[d][f"has_{source}_data"]]
        want |= {(d, "missing_data", source, source, None) for d in dates if present and d > present[0]
                 and not by_date[d][f"has_{source}_data"]}
    anomalies = {(r["local_date"], r["anomaly_type"], r["metric"], r["source"], r["trailing_n"])
                 for r in rows_of(warehouse, "select * from gold.fct_anomalies where person_id = %s", person.id)}
    assert anomalies == want
    assert any(a[1] in ("high", "low") for a in anomalies), "no metric anomaly in 30 demo days"
