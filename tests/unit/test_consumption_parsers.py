"""Netflix, Spotify and YouTube export parsers against small fixtures in the real formats (no database).

Fixtures: tests/fixtures/netflix/ViewingActivity.csv (two profiles, trailer/hook rows, non-ASCII titles, a
bad date, a bad duration, a short row), tests/fixtures/spotify/ (written by make_fixtures.py: tracks, a
podcast, an audiobook, null skipped, offline_timestamp in s and ms, bad ts, bad ms_played, a truncated
object, the old endsong format) and tests/fixtures/youtube/ (Takeout watch-history.json with `\\u003d`
escapes, YouTube Music, an ad, a removed video, a German title, a bad time; a copy cut mid-element).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from tracker.sources import export_files, netflix, spotify, youtube
from tracker.sources.export_files import FormatError, Rejected, iter_json_array, open_text

FIXTURES = Path(__file__).parents[1] / "fixtures"
NETFLIX = FIXTURES / "netflix" / "ViewingActivity.csv"
SPOTIFY_DIR = FIXTURES / "spotify" / "Spotify Extended Streaming History"
SPOTIFY_A = SPOTIFY_DIR / "Streaming_History_Audio_2023-2024_0.json"
YOUTUBE = FIXTURES / "youtube" / "Takeout" / "YouTube and YouTube Music" / "history" / "watch-history.json"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def split(items: list) -> tuple[list, list[Rejected]]:
    return [i for i in items if not isinstance(i, Rejected)], [i for i in items if isinstance(i, Rejected)]


# --- Netflix ---------------------------------------------------------------------------------------------


def test_netflix_parses_sessions_and_rejects_bad_rows_with_their_line():
    # WHEN the fixture is parsed
    rows, rejected = split(list(netflix.parse(NETFLIX)))
    # THEN nine sessions of both profiles are read, and the three bad rows are rejected with line and reason
    assert len(rows) == 9
    assert {r.profile_name for r in rows} == {"Ann", "Kids"}
    assert [(r.line, r.reason) for r in rejected] == [
        (9, "bad start time"), (10, "bad duration"), (11, "wrong column count")]
    assert rejected[0].detail == "'2024-02-30 25:00:00'" and rejected[0].record_at is None
    assert rejected[1].record_at == utc(2024, 2, 26, 20) and "ten minutes" in rejected[1].raw_text
    assert rejected[2].detail == "expected 10 columns, got 4"
    assert rejected[2].locator == f"{NETFLIX.name}:11"


def test_netflix_start_time_is_utc_and_durations_are_seconds():
    first = next(netflix.parse(NETFLIX))
    assert first.started_at == utc(2024, 3, 2, 21, 14, 5)
    assert first.duration_seconds == 42 * 60 + 10 and first.bookmark_seconds == 2530
    assert first.is_latest_view and first.latest_bookmark_seconds == 2530
    assert first.country == "DE (Germany)" and first.attributes is None


def test_netflix_not_latest_view_bookmark_is_null():
    rows, _ = split(list(netflix.parse(NETFLIX)))
    stranger = [r for r in rows if r.title.startswith("Stranger Things")]
    assert [(r.is_latest_view, r.latest_bookmark_seconds, r.bookmark_seconds) for r in stranger] == [
        (False, None, 45 * 60), (False, None, 25 * 60)]


def test_netflix_non_ascii_titles_stay_intact():
    rows, _ = split(list(netflix.parse(NETFLIX)))
    titles = {r.title for r in rows}
    assert {"Haus des Geldes: Teil 1: Folge 1",
            "千と千尋の神隠し",
            "Peppa Wutz: Staffel 1: Matschige Pfützen (Episode 1)",
            "進撃の巨人: シーズン1: 二千年後の君へ (Episode 1)"} <= titles
    japanese = next(r for r in rows if r.title == "千と千尋の神隠し")
    assert japanese.record["Title"] == "千と千尋の神隠し" and japanese.parts is None
    assert list(japanese.record) == netflix.HEADER


def test_netflix_supplemental_rows_are_kept_and_flagged():
    rows, _ = split(list(netflix.parse(NETFLIX)))
    flagged = {(r.profile_name, r.supplemental_video_type) for r in rows if r.is_supplemental}
    assert flagged == {("Ann", "TRAILER"), ("Kids", "HOOK")}
    assert sum(not r.is_supplemental for r in rows) == 7


@pytest.mark.parametrize(("title", "parts"), [
    ("Haus des Geldes: Teil 1: Folge 1", ("Haus des Geldes", "Teil 1", 1, "Folge 1", None)),
    ("Stranger Things: Season 1: Chapter One: The Vanishing of Will Byers (Episode 1)",
     ("Stranger Things", "Season 1", 1, "Chapter One: The Vanishing of Will Byers", 1)),
    ("Star Wars: The Clone Wars: Season 1: Ambush (Episode 1)",
     ("Star Wars: The Clone Wars", "Season 1", 1, "Ambush", 1)),
    ("Anthony Bourdain: Parts Unknown: Season 2: Myanmar (Episode 1)",
     ("Anthony Bourdain: Parts Unknown", "Season 2", 2, "Myanmar", 1)),
    ("Kaleidoscope: Limited Series: Green (Episode 3)", ("Kaleidoscope", "Limited Series", None, "Green", 3)),
    ("La casa de papel: Parte 3: Episodio 1", ("La casa de papel", "Parte 3", 3, "Episodio 1", None)),
    ("進撃の巨人: シーズン1: 二千年後の君へ (Episode 1)", ("進撃の巨人", "シーズン1", 1, "二千年後の君へ", 1)),
    ("Black Mirror: Bandersnatch", None),
    ("Dune: Part Two", None),
    ("千と千尋の神隠し", None),
])
def test_netflix_title_split_follows_the_show_season_episode_convention(title, parts):
    got = netflix.split_title(title)
    assert (got and (got.show, got.season, got.season_number, got.episode, got.episode_number)) == parts


def test_netflix_line_numbers_count_quoted_newlines(tmp_path):
    # GIVEN a title with an embedded newline (a quoted field spanning lines) before a bad row
    path = tmp_path / "ViewingActivity.csv"
    path.write_text(",".join(netflix.HEADER) + "\n"
                    'Ann,2024-01-01 10:00:00,00:01:00,,"Two\nLines",,TV,00:01:00,00:01:00,DE (Germany)\n'
                    "Ann,2024-01-01 11:00:00,1h,,X,,TV,00:01:00,00:01:00,DE (Germany)\n", encoding="utf-8")
    rows, rejected = split(list(netflix.parse(path)))
    # THEN the multi-line row is line 2, and the bad row is reported on its real line, 4
    assert [r.line for r in rows] == [2] and rows[0].title == "Two\nLines"
    assert [(r.line, r.reason) for r in rejected] == [(4, "bad duration")]


def test_netflix_broken_quoting_is_rejected_and_the_rest_is_read(tmp_path):
    path = tmp_path / "ViewingActivity.csv"
    path.write_text("\ufeff" + ",".join(netflix.HEADER) + "\n"  # with a BOM, as some exports have
                    'Ann,2024-01-01 10:00:00,00:01:00,,"A" B,,TV,00:01:00,00:01:00,DE (Germany)\n'
                    "Ann,2024-01-01 11:00:00,00:02:00,,C,,TV,00:01:00,00:01:00,DE (Germany)\n", encoding="utf-8")
    rows, rejected = split(list(netflix.parse(path)))
    assert [r.title for r in rows] == ["C"]
    assert [(r.line, r.reason) for r in rejected] == [(2, "malformed CSV")]


def test_netflix_other_files_are_refused_with_a_clear_error():
    with pytest.raises(FormatError, match="is not Netflix ViewingActivity.csv.*in-app NetflixViewingHistory"):
        list(netflix.parse(FIXTURES / "netflix" / "NetflixViewingHistory.csv"))
    with pytest.raises(FormatError, match="expected the header"):
        list(netflix.parse(SPOTIFY_A))


def test_netflix_finds_the_csv_in_an_export_folder():
    assert netflix.find_files(FIXTURES / "netflix") == [NETFLIX]


# --- Spotify ---------------------------------------------------------------------------------------------


def test_spotify_folder_lists_audio_files_in_order_and_leaves_video_out():
    assert [f.name for f in spotify.find_files(FIXTURES / "spotify" / "Spotify Extended Streaming History")] == [
        "Streaming_History_Audio_2023-2024_0.json", "Streaming_History_Audio_2024_1.json"]
    assert [f.name for f in spotify.find_files(FIXTURES / "spotify" / "endsong")] == ["endsong_0.json"]


def test_spotify_plays_tracks_podcasts_and_audiobooks():
    plays, _ = split(list(spotify.parse(SPOTIFY_A)))
    assert [(p.index, p.content_type) for p in plays] == [
        (0, "track"), (1, "track"), (2, "episode"), (3, "audiobook"), (7, "track")]
    track, _, podcast, book, _ = plays
    assert track.item_key == "spotify:track:0VjIjW4GlUZAMYd2vXMi3b"
    assert track.text["master_metadata_album_artist_name"] == "The Weeknd"
    assert podcast.item_key == "spotify:episode:3vQ0GE3mI0dAaxGMYgNvDN"
    assert podcast.text["episode_show_name"] == "Zeit Verbrechen" and podcast.text["spotify_track_uri"] is None
    assert book.item_key == "spotify:episode:5ZuZH7ZB3YJrVEcEjbHbZ9" and book.text["audiobook_title"] == "Der Process"


def test_spotify_ts_is_the_end_of_the_play():
    play = next(spotify.parse(SPOTIFY_A))
    assert play.ended_at == utc(2024, 1, 5, 8, 3, 12)
    assert play.ms_played == 183_000 and play.started_at == utc(2024, 1, 5, 8, 0, 9)


def test_spotify_skipped_may_be_null_and_offline_timestamp_may_be_ms():
    plays, _ = split(list(spotify.parse(SPOTIFY_A)))
    assert [p.flags["skipped"] for p in plays] == [False, None, False, False, False]
    assert plays[0].offline_at == utc(2024, 1, 5, 8, 0, 9)                 # seconds
    assert plays[3].offline_at == utc(2024, 1, 5, 9, 20, 0, 123_000)        # milliseconds
    assert plays[1].offline_at is None


def test_spotify_bad_elements_are_rejected_and_the_rest_is_read():
    _, rejected = split(list(spotify.parse(SPOTIFY_A)))
    assert [(r.index, r.line, r.reason) for r in rejected] == [
        (4, 102, "bad ts"), (5, 127, "bad ms_played"), (6, 152, "malformed JSON")]
    assert rejected[1].record_at == utc(2024, 1, 5, 10) and rejected[1].detail == "'twelve'"
    truncated = rejected[2].raw_text
    assert truncated.startswith('{\n    "ts": "2024-01-05T10:30:00Z"') and "11:00" not in truncated
    assert rejected[0].locator == f"{SPOTIFY_A.name}:102#4"


def test_spotify_old_endsong_format():
    [play] = list(spotify.parse(FIXTURES / "spotify" / "endsong" / "endsong_0.json"))
    assert (play.line, play.ended_at, play.content_type, play.flags["skipped"]) == (
        1, utc(2019, 6, 1, 18), "track", None)
    assert play.text["audiobook_uri"] is None and '"ip_addr_decrypted":"192.0.2.11"' in play.raw


def test_spotify_account_data_export_is_refused(tmp_path):
    account_data = FIXTURES / "spotify" / "StreamingHistory_music_0.json"
    with pytest.raises(FormatError, match="account-data StreamingHistory export"):
        spotify.find_files(account_data)
    # also when renamed: its first play has endTime/msPlayed instead of ts/ms_played
    renamed = tmp_path / "endsong_0.json"
    renamed.write_bytes(account_data.read_bytes())
    with pytest.raises(FormatError, match="account-data plays"):
        list(spotify.parse(renamed))


def test_spotify_not_an_array_is_refused(tmp_path):
    path = tmp_path / "endsong_0.json"
    path.write_text('{"ts": "2024-01-01T00:00:00Z", "ms_played": 1}')
    with pytest.raises(FormatError, match="not a JSON array"):
        list(spotify.parse(path))


def test_spotify_file_cut_off_reports_truncation(tmp_path):
    text = SPOTIFY_A.read_text()
    cut = tmp_path / "Streaming_History_Audio_2024_0.json"
    cut.write_text(text[:text.index('"ts": "2024-01-05T09:00:00Z"') + 12])
    items = list(spotify.parse(cut))
    plays, rejected = split(items)
    assert [p.index for p in plays] == [0, 1]
    assert [(r.index, r.line, r.reason, r.detail) for r in rejected] == [
        (2, 52, "truncated JSON", "file ends inside this element")]
    between = tmp_path / "Streaming_History_Audio_2024_1.json"
    between.write_text(text[:text.index("  {\n    \"ts\": \"2024-01-05T09:00:00Z\"")])
    assert [(r.index, r.reason) for r in split(list(spotify.parse(between)))[1]] == [(2, "truncated JSON")]


def test_spotify_nul_characters_are_rejected(tmp_path):
    path = tmp_path / "endsong_1.json"
    path.write_text('[{"ts": "2024-01-01T00:00:00Z", "ms_played": 1, "episode_name": "a\\u0000b"},'
                    '{"ts": "2024-01-01T00:01:00Z", "ms_played": 2}]')
    items = list(spotify.parse(path))
    assert [type(i).__name__ for i in items] == ["Rejected", "Play"]
    assert items[0].reason == "NUL character" and items[1].content_type == "unknown"


@pytest.mark.parametrize("chunk", [5, 64, 1000])
def test_json_reading_does_not_depend_on_chunk_boundaries(monkeypatch, chunk):
    def read(path):
        with open_text(path) as fh:
            return [(i, line, v.reason if isinstance(v, export_files.Malformed) else v[1])
                    for i, line, v in iter_json_array(fh, lambda v: isinstance(v, dict) and "ts" in v)]

    expected = {p: read(p) for p in (SPOTIFY_A, YOUTUBE)}
    monkeypatch.setattr(export_files, "CHUNK", chunk)
    assert {p: read(p) for p in expected} == expected


def test_progress_callback_counts_every_byte():
    seen: list[int] = []
    list(spotify.parse(SPOTIFY_A, seen.append))
    assert sum(seen) == SPOTIFY_A.stat().st_size


# --- YouTube ---------------------------------------------------------------------------------------------


def test_youtube_watches_and_rejects():
    watches, rejected = split(list(youtube.parse(YOUTUBE)))
    assert [(w.index, w.line) for w in watches] == [(0, 1), (1, 12), (2, 23), (3, 37), (4, 43), (6, 61)]
    assert [(r.index, r.line, r.reason, r.detail) for r in rejected] == [(5, 50, "bad time", "'yesterday'")]
    assert rejected[0].locator == f"{YOUTUBE.name}:50#5"


def test_youtube_fields():
    w = {w.index: w for w in split(list(youtube.parse(YOUTUBE)))[0]}
    # \u003d-escaped URLs give the video id; the English prefix goes, the original title stays
    assert (w[0].video_id, w[0].video_title, w[0].title) == (
        "q0zuLmEx4bw", "How to Bake Sourdough Bread at Home", "Watched How to Bake Sourdough Bread at Home")
    assert '"titleUrl": "https://www.youtube.com/watch?v\\u003dq0zuLmEx4bw"' in w[0].raw
    assert (w[0].channel_name, w[0].channel_id, w[0].service) == (
        "Joshua Weissman", "UChBEbMKI1eCcejTtmI32UEw", "youtube")
    assert w[1].service == "youtube_music" and w[1].video_id == "Fu2bgwcv43o"
    # ads are flagged
    assert [i for i, x in w.items() if x.is_ad] == [2]
    # a removed video is kept, without id or title
    assert (w[3].is_removed, w[3].video_id, w[3].title_url, w[3].video_title, w[3].item_key) == (
        True, None, None, None, "Watched a video that has been removed")
    # a localised title keeps its wording; no channel → nulls; &t= does not leak into the id
    assert w[4].video_title == w[4].title == "Deutsche Bahn erklärt: Warum Züge verspätet sind angesehen"
    assert (w[4].channel_name, w[4].channel_id, w[4].video_id) == (None, None, "XyZ-_12abcD")
    assert w[6].video_title == "Why the 'Kessel Run' is 12 parsecs"


def test_youtube_times_with_any_fraction_digits_are_utc():
    w = {w.index: w.watched_at for w in split(list(youtube.parse(YOUTUBE)))[0]}
    assert w[0] == utc(2024, 3, 1, 20, 15, 42, 123_000)
    assert w[1] == utc(2024, 3, 1, 19, 2, 7, 500_000)
    assert w[2] == utc(2024, 3, 1, 19, 0, 1)
    assert w[4] == utc(2024, 2, 28, 18, 30, 0, 1)


def test_youtube_file_cut_mid_element():
    items = list(youtube.parse(FIXTURES / "youtube" / "watch-history-cut.json"))
    watches, rejected = split(items)
    assert [w.index for w in watches] == [0, 1]
    assert [(r.index, r.line, r.reason) for r in rejected] == [(2, 23, "truncated JSON")]
    assert rejected[0].raw_text.startswith('{\n  "header": "YouTube",\n  "title": "Watched The Best Laptop')


@pytest.mark.parametrize(("url", "video_id"), [
    ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", "dQw4w9WgXcQ"),
    ("https://www.youtube.com/watch?v\\u003ddQw4w9WgXcQ", "dQw4w9WgXcQ"),  # escape left literally in the text
    ("https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=42s", "dQw4w9WgXcQ"),
    ("https://youtu.be/dQw4w9WgXcQ", "dQw4w9WgXcQ"),
    ("https://www.youtube.com/shorts/abcdefghijk", "abcdefghijk"),
    ("https://www.youtube.com/post/Ugkx", None),
    (None, None),
])
def test_youtube_video_id(url, video_id):
    assert youtube.video_id(url) == video_id


def test_youtube_finds_watch_history_in_a_takeout_folder():
    assert youtube.find_files(FIXTURES / "youtube" / "Takeout") == [YOUTUBE]
    with pytest.raises(FormatError, match="expected one watch-history.json"):
        youtube.find_files(FIXTURES / "netflix")


# --- hostile input: resynchronising, deep nesting --------------------------------------------------------

_ROW = "Ann,2024-03-0{d} 10:00:00,00:10:00,,{title},,TV,00:10:00,00:10:00,DE"


@pytest.mark.parametrize(("lines", "loaded", "rejected_lines"), [
    # an unterminated quote: that line alone is rejected, the next valid row is where reading resumes
    ([_ROW.format(d=1, title='"A'), _ROW.format(d=2, title="B"), _ROW.format(d=3, title="C")], ["B", "C"], [2]),
    # two in a row, and one on the last line
    ([_ROW.format(d=1, title='"A'), _ROW.format(d=2, title='"B'), _ROW.format(d=3, title="C"),
      _ROW.format(d=4, title='"D')], ["C"], [2, 3, 5]),
    # a quoted title spanning lines is one record; a quote in an unquoted field is literal
    ([_ROW.format(d=1, title='"A\nA2"'), _ROW.format(d=2, title='12" B')], ["A\nA2", '12" B'], []),
    # text after a closing quote is bad CSV: rejected alone
    ([_ROW.format(d=1, title='"A"x'), _ROW.format(d=2, title="B")], ["B"], [2]),
])
def test_netflix_bad_quotes_cost_only_their_own_lines(tmp_path, lines, loaded, rejected_lines):
    path = tmp_path / "ViewingActivity.csv"
    path.write_text(",".join(netflix.HEADER) + "\n" + "\n".join(lines) + "\n")
    rows, rejected = split(list(netflix.parse(path)))
    assert [r.title for r in rows] == loaded
    assert [r.line for r in rejected] == rejected_lines
    assert all(r.reason == "malformed CSV" and r.raw_text for r in rejected)


def test_a_deeply_nested_element_is_skipped_in_linear_time(tmp_path):
    import time

    good = '{"ts": "2024-05-01T10:00:00Z", "ms_played": 1000, "spotify_track_uri": "x"}'
    deep = '{"ts": "2024-05-01T11:00:00Z", "ms_played": 1, "x": ' + '[{"a":' * 300_000 + "1"  # never closed
    path = tmp_path / "Streaming_History_Audio_2024_0.json"
    path.write_text("[" + ",".join([good, deep, good]) + "]")
    began = time.perf_counter()
    items = list(spotify.parse(path))
    assert [type(i).__name__ for i in items] == ["Play", "Rejected", "Play"]
    assert items[1].message == "malformed JSON: nested too deeply"
    assert time.perf_counter() - began < 20  # ≈ 3 s here; retrying every '{' inside took minutes
