"""Last.fm and Trakt join Spotify / Netflix in the consumption models: real extracts from the demo APIs, real
export imports, real dbt on the session's PostgreSQL.

The expected figures are computed here, in Python, from the raw rows, following the rules documented in
int_plays_deduplicated / int_watches_unioned (durations, duplicates) — an independent second
implementation, so a changed rule or a broken join shows up as a difference.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from tracker.config import Person, TrackerConfig

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 10, 9, tzinfo=UTC)  # Fri..Mon: evening Last.fm blocks, Trakt binges and a movie day
END = datetime(2026, 10, 13, tzinfo=UTC)
RAW = ("raw.lastfm__scrobbles", "raw.trakt__history", "raw.spotify__streams", "raw.netflix__viewing_activity",
       "raw.youtube__watch_history", "raw.quarantine", "raw.tracker__people")


@pytest.fixture()
def person(warehouse):
    made = Person(id=f"t_cons_{uuid.uuid4().hex[:8]}", timezone="Europe/Berlin",
                  accounts={"lastfm": "demo-user", "trakt": "demo-user"})
    yield made
    for table in RAW:
        warehouse.execute(f"delete from {table} where person_id = %s", (made.id,))


def load_api_sources(conn, person: Person, demo_url: str) -> None:
    from tracker.sources.lastfm import extract as lastfm
    from tracker.sources.lastfm.client import LastfmClient
    from tracker.sources.trakt import extract as trakt
    from tracker.sources.trakt.client import TraktClient
    from tracker.warehouse.people import sync_people
    from tracker.windows import ExtractWindow

    config = TrackerConfig(people=[person])
    sync_people(conn, config, "test-consumption-gold")
    window = ExtractWindow(START, END)
    lastfm.extract_and_load(conn, lambda user: LastfmClient("demo-key", user, base_url=f"{demo_url}/lastfm/2.0/"),
                            config, window, "test-consumption-gold")
    trakt.extract_and_load(conn, TraktClient("demo-client", "demo-token", base_url=f"{demo_url}/trakt"), config,
                           window, "test-consumption-gold")


def expected_lastfm_seconds(scrobbles: list[tuple]) -> dict[datetime, Decimal]:
    """The documented duration rule: gap to the next scrobble when ≤ 10 min, else 210 s."""
    out = {}
    for k, (played_at, *_rest) in enumerate(scrobbles):
        gap = (scrobbles[k + 1][0] - played_at).total_seconds() if k + 1 < len(scrobbles) else None
        out[played_at] = Decimal(gap if gap is not None and gap <= 600 else 210)
    return out


def test_lastfm_and_trakt_reach_consumption_gold_without_duplicating_spotify_and_netflix(
        warehouse, person, demo_api, tmp_path):
    from tracker.imports.consumption import import_netflix, import_spotify
    from tracker.stack.local import dbt

    # GIVEN four days of Last.fm scrobbles and Trakt history from the demo APIs
    load_api_sources(warehouse, person, demo_api)
    scrobbles = warehouse.execute("select played_at, artist, track from raw.lastfm__scrobbles where person_id = %s "
                                  "order by played_at", (person.id,)).fetchall()
    watches = warehouse.execute(
        "select history_id, watched_at, media_type, title, show_title, season, episode, runtime_minutes "
        "from raw.trakt__history where person_id = %s order by watched_at", (person.id,)).fetchall()
    assert len(scrobbles) > 20 and any(w[2] == "episode" for w in watches), (len(scrobbles), watches)
    # AND a Spotify export holding the first four of those plays (Spotify's scrobbler sent them to Last.fm;
    # the artist in another case) plus a podcast episode
    plays = [{"ts": (nxt[0] - timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
              "ms_played": int((nxt[0] - cur[0]).total_seconds() - 2) * 1000, "platform": "android",
              "master_metadata_track_name": cur[2], "master_metadata_album_artist_name": cur[1].upper(),
              "spotify_track_uri": f"spotify:track:{k}", "reason_start": "trackdone", "reason_end": "trackdone",
              "skipped": False}
             for k, (cur, nxt) in enumerate(zip(scrobbles[:4], scrobbles[1:5], strict=True))]
    plays.append({"ts": "2026-10-10T07:30:00Z", "ms_played": 1_800_000, "episode_name": "Episode 12",
                  "episode_show_name": "A Podcast", "spotify_episode_uri": "spotify:episode:12"})
    spotify_dir = tmp_path / "Spotify Extended Streaming History"
    spotify_dir.mkdir()
    (spotify_dir / "Streaming_History_Audio_2026_0.json").write_text(json.dumps(plays))
    import_spotify(warehouse, spotify_dir, person)
    # AND a Netflix export holding the first Trakt episode (Trakt's Netflix scrobbler sent it), 2 min shorter
    first_ep = next(w for w in watches if w[2] == "episode")
    ep_start = first_ep[1] - timedelta(minutes=first_ep[7] - 1)
    netflix_csv = tmp_path / "ViewingActivity.csv"
    watched = f"{timedelta(minutes=first_ep[7] - 2)}".zfill(8)  # HH:MM:SS
    netflix_csv.write_text(
        "Profile Name,Start Time,Duration,Attributes,Title,Supplemental Video Type,Device Type,Bookmark,"
        "Latest Bookmark,Country\n"
        f"Ann,{ep_start:%Y-%m-%d %H:%M:%S},{watched},,"
        f"\"{first_ep[4]}: Season {first_ep[5]}: {first_ep[3]} (Episode {first_ep[6]})\",,TV,"
        f"{watched},Not latest view,DE (Germany)\n", encoding="utf-8")
    import_netflix(warehouse, netflix_csv, person)

    # WHEN the consumption models build with their tests (unit tests included)
    result = dbt("build", "--select", "+fct_consumption_daily", check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]

    # THEN the four doubled scrobbles are gone from listening, every other one is there once
    listening = warehouse.execute(
        "select service, started_at, seconds_played, local_date, is_duration_estimated "
        "from silver.int_plays_deduplicated where person_id = %s", (person.id,)).fetchall()
    lastfm_rows = {r[1]: r for r in listening if r[0] == "lastfm"}
    assert sum(r[0] == "spotify" for r in listening) == 5
    assert set(lastfm_rows) == {s[0] for s in scrobbles[4:]}
    # AND their durations follow the gap rule, computed over all scrobbles (the doubled ones included)
    seconds = expected_lastfm_seconds(scrobbles)
    assert {t: r[2] for t, r in lastfm_rows.items()} == {t: seconds[t] for t in lastfm_rows}
    assert {r[4] for r in lastfm_rows.values()} == {True}
    assert any(v == 210 for v in seconds.values()) and any(v != 210 for v in seconds.values())
    # AND Trakt keeps every entry except the one Netflix also holds, lasting its runtime
    trakt_rows = dict(warehouse.execute(
        "select started_at, seconds_watched from silver.int_watches_unioned "
        "where person_id = %s and service = 'trakt'", (person.id,)).fetchall())
    kept = [w for w in watches if w[0] != first_ep[0]]
    assert trakt_rows == {w[1] - timedelta(minutes=w[7]): Decimal(w[7] * 60) for w in kept}

    # AND the daily fact splits minutes by source and service on the Berlin date each play started
    listen_day: dict = defaultdict(Decimal)
    for t in lastfm_rows:
        listen_day[t.astimezone(BERLIN).date()] += seconds[t]
    trakt_day: dict = defaultdict(Decimal)
    for w in kept:
        trakt_day[(w[1] - timedelta(minutes=w[7])).astimezone(BERLIN).date()] += w[7] * 60
    daily = {r[0]: r[1:] for r in warehouse.execute(
        "select local_date, lastfm_minutes, trakt_minutes, netflix_minutes, spotify_minutes, watched_minutes "
        "from gold.fct_consumption_daily where person_id = %s", (person.id,)).fetchall()}
    assert {d: v[0] for d, v in daily.items() if v[0]} == {d: round(s / 60, 1) for d, s in listen_day.items()}
    assert {d: v[1] for d, v in daily.items() if v[1]} == {d: round(s / 60, 1) for d, s in trakt_day.items()}
    netflix_day = ep_start.astimezone(BERLIN).date()
    assert daily[netflix_day][2] == first_ep[7] - 2
    spotify_day: dict = defaultdict(Decimal)
    for p in plays:
        ended = datetime.fromisoformat(p["ts"].replace("Z", "+00:00"))
        spotify_day[(ended - timedelta(milliseconds=p["ms_played"])).astimezone(BERLIN).date()] += p["ms_played"]
    assert {d: v[3] for d, v in daily.items() if v[3]} == {d: round(ms / 60000, 1) for d, ms in spotify_day.items()}
    assert all(v[4] == v[1] + v[2] for v in daily.values())  # no YouTube here: watched = Trakt + Netflix
