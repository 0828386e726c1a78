"""LastfmClient against recorded `user.getRecentTracks` payloads (no network)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from tracker.http import AuthError, PermanentSourceError, TransientSourceError
from tracker.sources.lastfm import LastfmClient, LastfmHttp

FIXTURES = Path(__file__).parents[1] / "fixtures" / "lastfm"
URL = "https://ws.audioscrobbler.com/2.0/"
DAY = (datetime(2025, 11, 18, tzinfo=UTC), datetime(2025, 11, 19, tzinfo=UTC))
KEY = "0123456789abcdef0123456789abcdef"


def text(name: str) -> str:
    return (FIXTURES / name).read_text()


def q(call) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url).query).items()}


def lastfm(sleeps: list[float], retries: int = 2) -> LastfmClient:
    http = LastfmHttp(credential="lastfm", sleep=sleeps.append, jitter=lambda: 0.0, max_retries=retries)
    return LastfmClient(KEY, "rj", http=http)


def by_page(**pages: str):
    return lambda request: (200, {}, text(pages[parse_qs(urlsplit(request.url).query)["page"][0]]))


def test_all_pages_are_read_and_the_now_playing_item_is_skipped(api, sleeps):
    # given two pages, the first led by the now-playing track (no date)
    api.add_callback(responses.GET, URL, callback=by_page(**{"1": "recenttracks_page1.json",
                                                            "2": "recenttracks_page2.json"}))

    scrobbles = lastfm(sleeps).recent_tracks(*DAY)

    # then both pages were asked with the window in unix seconds and the maximum page size
    assert [q(c) for c in api.calls] == [
        {"method": "user.getrecenttracks", "user": "rj", "api_key": KEY, "format": "json", "limit": "200",
         "from": "1763424000", "to": "1763510400", "page": str(page)} for page in (1, 2)]
    # and the four finished plays come back oldest first, without "House of Cards" (now playing)
    assert [(s.played_at.strftime("%H:%M:%S"), s.artist, s.track) for s in scrobbles] == [
        ("18:35:34", "Khruangbin", "Lady and Man"), ("18:40:00", "Khruangbin", "Maria También"),
        ("19:00:51", "Radiohead", "Faust Arp"), ("19:03:00", "Radiohead", "Reckoner")]
    reckoner = scrobbles[-1]
    assert reckoner.album == "In Rainbows" and reckoner.track_mbid == "7a1f3e8c-5b2d-4c9e-8f1a-2b3c4d5e6f70"
    assert scrobbles[0].artist_mbid is None and scrobbles[0].album_mbid is None  # "" means unknown
    assert reckoner.record["date"]["uts"] == "1763492580" and reckoner.loved is None


def test_a_single_track_sent_as_an_object_is_one_scrobble(api, sleeps):
    api.get(URL, body=text("recenttracks_single.json"))

    (only,) = lastfm(sleeps).recent_tracks(*DAY)

    assert (only.artist, only.track, only.played_at) == ("Nils Frahm", "Sunson", datetime(2025, 11, 18, 22, tzinfo=UTC))


def test_extended_artist_shape_and_loved_flag(api, sleeps):
    api.get(URL, body=text("recenttracks_extended.json"))

    (only,) = lastfm(sleeps).recent_tracks(*DAY)

    assert (only.artist, only.artist_mbid, only.loved) == ("Little Simz", "b9c2e4d6-0f7a-4e3b-9a8c-1d2e3f4a5b6c", True)


def test_an_empty_window_is_one_request_and_no_rows(api, sleeps):
    api.get(URL, body=text("recenttracks_empty.json"))

    assert lastfm(sleeps).recent_tracks(*DAY) == [] and len(api.calls) == 1


def test_a_scrobble_at_the_window_end_is_left_out(api, sleeps):
    # given an API that (if `to` were inclusive) returns a play exactly at the window's end
    api.get(URL, body=text("recenttracks_single.json"))

    assert lastfm(sleeps).recent_tracks(DAY[0], datetime(2025, 11, 18, 22, tzinfo=UTC)) == []


@pytest.mark.parametrize(("fixture", "status"), [("error_invalid_key.json", 403), ("error_suspended_key.json", 403),
                                                 ("error_invalid_key.json", 200)])
def test_invalid_or_suspended_key_is_auth_error_naming_lastfm(api, sleeps, fixture, status):
    api.get(URL, status=status, body=text(fixture))

    with pytest.raises(AuthError) as err:
        lastfm(sleeps).recent_tracks(*DAY)

    code = json.loads(text(fixture))["error"]
    assert err.value.credential == "connection 'lastfm'" and "fix connection 'lastfm'" in str(err.value)
    assert f"Last.fm error {code}" in str(err.value)
    assert KEY not in str(err.value) and sleeps == [] and len(api.calls) == 1


def test_rate_limit_error_29_is_retried_then_transient(api, sleeps):
    api.get(URL, status=429, body=text("error_rate_limit.json"))

    with pytest.raises(TransientSourceError, match="Last.fm error 29") as err:
        lastfm(sleeps, retries=2).recent_tracks(*DAY)

    assert len(api.calls) == 3 and sleeps == [0.5, 1.0] and err.value.status == 429
    assert KEY not in str(err.value)


def test_rate_limit_error_29_then_success(api, sleeps):
    answers = iter([(429, {}, text("error_rate_limit.json")), (200, {}, text("recenttracks_single.json"))])
    api.add_callback(responses.GET, URL, callback=lambda r: next(answers))

    assert len(lastfm(sleeps).recent_tracks(*DAY)) == 1 and sleeps == [0.5]


def test_user_not_found_is_permanent_not_auth(api, sleeps):
    api.get(URL, status=404, body=text("error_user_not_found.json"))

    with pytest.raises(PermanentSourceError, match="Last.fm error 6: User not found") as err:
        lastfm(sleeps).recent_tracks(*DAY)

    assert not isinstance(err.value, AuthError) and len(api.calls) == 1 and sleeps == []


def test_naive_bounds_are_refused(sleeps):
    with pytest.raises(ValueError, match="timezone-aware"):
        lastfm(sleeps).recent_tracks(datetime(2025, 11, 18), datetime(2025, 11, 19))
