"""The demo's Netflix / Spotify / YouTube export files: real formats, deterministic, imported through the real
importers into the session's PostgreSQL, idempotently, and on through dbt into consumption gold."""

from __future__ import annotations

import csv
import json
import uuid
from datetime import UTC, date, datetime

import pytest
from tracker.config import Person

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

TODAY = date(2026, 11, 24)
TABLES = ("raw.netflix__viewing_activity", "raw.spotify__streams", "raw.youtube__watch_history")


@pytest.fixture()
def person(warehouse, tmp_path):
    made = Person(id=f"t_demo_{uuid.uuid4().hex[:8]}", timezone="Europe/Berlin", accounts={})
    config = tmp_path / "people.yml"
    config.write_text(f"people:\n  - id: {made.id}\n    timezone: Europe/Berlin\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRACKER_CONFIG", str(config))
        yield made
    for table in (*TABLES, "raw.quarantine", "raw.tracker__people"):
        warehouse.execute(f"delete from {table} where person_id = %s", (made.id,))


def snapshot(conn, person_id: str) -> dict:
    return {t: conn.execute(f"select count(*), md5(string_agg(t::text, '|' order by t::text)) from {t} t "
                            "where person_id = %s", (person_id,)).fetchone() for t in TABLES}


def test_export_files_are_real_format_and_deterministic(tmp_path):
    from tracker.demo.exports import NETFLIX_HEADER, window, write_exports

    start, end = window(30, TODAY)
    assert (start, end) == (datetime(2026, 10, 25, tzinfo=UTC), datetime(2026, 11, 24, tzinfo=UTC))
    files = write_exports(tmp_path / "a", start, end)
    again = write_exports(tmp_path / "b", start, end)
    for path in ("netflix_csv", "youtube_json"):
        assert getattr(files, path).read_bytes() == getattr(again, path).read_bytes()
    (audio,) = files.spotify_dir.glob("Streaming_History_Audio_*.json")
    assert audio.name == "Streaming_History_Audio_2026_0.json"
    assert audio.read_bytes() == (again.spotify_dir / audio.name).read_bytes()
    # a later window is a different file (the demo moves with the clock)
    later = write_exports(tmp_path / "c", *window(30, date(2026, 11, 25)))
    assert later.youtube_json.read_bytes() != files.youtube_json.read_bytes()

    # Netflix: the exact header, several profiles, promos, non-ASCII titles, UTC starts inside the window
    rows = list(csv.DictReader(files.netflix_csv.open(encoding="utf-8")))
    assert list(rows[0]) == NETFLIX_HEADER
    assert {r["Profile Name"] for r in rows} == {"Demo", "Kids"}
    assert {r["Supplemental Video Type"] for r in rows} >= {"", "TRAILER", "HOOK"}
    assert any(not r["Title"].isascii() for r in rows) and "Not latest view" in {r["Latest Bookmark"] for r in rows}
    starts = [datetime.fromisoformat(r["Start Time"]).replace(tzinfo=UTC) for r in rows]
    assert starts == sorted(starts, reverse=True) and start <= starts[-1] and starts[0] < end
    # Spotify: music and podcast episodes, `ts` the end of play inside the window
    plays = json.loads(audio.read_text())
    assert {bool(p["spotify_track_uri"]) for p in plays} == {True, False}
    assert all(p["episode_show_name"] for p in plays if not p["spotify_track_uri"])
    assert all(start <= datetime.fromisoformat(p["ts"].replace("Z", "+00:00")) < end for p in plays)
    # YouTube: Google's escapes, both services, ads, a removed video
    text = files.youtube_json.read_text()
    assert "watch?v\\u003d" in text and "=" not in text and "\\u0027" in text
    items = json.loads(text)
    assert {i["header"] for i in items} == {"YouTube", "YouTube Music"}
    assert any(i.get("details") == [{"name": "From Google Ads"}] for i in items)
    assert any(i["title"] == "Watched a video that has been removed" and "titleUrl" not in i for i in items)


def test_demo_exports_import_idempotently_and_fill_consumption_gold(warehouse, person, tmp_path):
    from tracker import settings
    from tracker.demo.exports import import_demo_exports
    from tracker.stack.local import dbt

    lines: list[str] = []
    # WHEN the demo exports are written and imported for the configured person
    first = import_demo_exports(30, today=TODAY, folder=tmp_path / "exports", dsn=settings.warehouse_dsn(),
                                echo=lines.append)
    # THEN every source landed rows, nothing was quarantined, the Kids profile was skipped as another profile
    by_source = {s.source: s for s in first}
    assert set(by_source) == {"netflix", "spotify", "youtube"} and all(s.person_id == person.id for s in first)
    assert all(s.inserted > 0 and not s.quarantined and s.updated == 0 for s in first), first
    assert set(by_source["netflix"].skipped) == {"other profile 'Kids'"}
    assert len(lines) == 3 and lines[0].startswith(f"netflix export for {person.id}: ")
    counts = {t: c for t, (c, _) in snapshot(warehouse, person.id).items()}
    assert counts == {"raw.netflix__viewing_activity": by_source["netflix"].inserted,
                      "raw.spotify__streams": by_source["spotify"].inserted,
                      "raw.youtube__watch_history": by_source["youtube"].inserted}
    before = snapshot(warehouse, person.id)
    # WHEN the demo runs again the same day
    again = import_demo_exports(30, today=TODAY, folder=tmp_path / "exports", dsn=settings.warehouse_dsn(),
                                echo=lines.append)
    # THEN nothing changed, not even load metadata
    assert [(s.inserted, s.updated) for s in again] == [(0, 0)] * 3
    assert snapshot(warehouse, person.id) == before
    # AND consumption gold has Netflix, YouTube, music and podcast minutes on most of the 30 days
    result = dbt("build", "--select", "+fct_consumption_daily", check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    days, netflix, youtube, music, podcast, first_day, last_day = warehouse.execute(
        "select count(*), count(*) filter (where netflix_minutes > 0), count(*) filter (where youtube_minutes > 0), "
        "count(*) filter (where music_minutes > 0), count(*) filter (where podcast_minutes > 0), min(local_date), "
        "max(local_date) from gold.fct_consumption_daily where person_id = %s", (person.id,)).fetchone()
    assert days >= 28 and min(netflix, youtube, music, podcast) >= 5, (days, netflix, youtube, music, podcast)
    assert date(2026, 10, 25) <= first_day and last_day <= date(2026, 11, 24)  # 23:xx UTC on the 23rd: the 24th
