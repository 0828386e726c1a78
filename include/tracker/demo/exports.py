"""Demo export files in the real formats, and their import: Netflix, Spotify, YouTube.

`make demo` writes, under the state folder, the files a person would download for the demo window:

- Netflix `CONTENT_INTERACTION/ViewingActivity.csv`: profiles `Demo` and `Kids`, newest first, UTC start
  times, pause/resume rows, autoplay blips, trailer and hook rows (Supplemental Video Type), non-ASCII titles.
  The Netflix show of the Trakt demo (Dark) is watched on Netflix, so Trakt's entries for it are duplicates
  that the consumption models drop.
- Spotify `Spotify Extended Streaming History/Streaming_History_Audio_<years>_0.json`: the evening music of the
  Last.fm demo (Spotify scrobbles to Last.fm, so those scrobbles are duplicates the models drop) and podcast
  episodes on weekday mornings and weekends.
- YouTube `Takeout/YouTube and YouTube Music/history/watch-history.json`: lunch and late-night sessions,
  YouTube Music, ads ("From Google Ads"), a removed video; `=` and `'` escaped as Google does.

Everything is a pure function of the local (Europe/Berlin) day, like the demo APIs, so the same window gives
byte-identical files and a re-import changes nothing. The imports use the real importers.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from tracker.demo.lastfm_api import ALBUMS
from tracker.demo.lastfm_api import plays_on as lastfm_plays_on
from tracker.demo.seeded import ZONE, between, hexdigest, local, pick, u
from tracker.demo.trakt_api import _item as trakt_item
from tracker.demo.trakt_api import watches_on as trakt_watches_on

PROFILE = "Demo"  # the demo person's Netflix profile; `Kids` shares the account
NETFLIX_HEADER = ["Profile Name", "Start Time", "Duration", "Attributes", "Title", "Supplemental Video Type",
                  "Device Type", "Bookmark", "Latest Bookmark", "Country"]
# Netflix-only titles: (show, season label, episode titles, runtime minutes)
NETFLIX_SHOWS = (
    ("Élite", "Season 1", ("Bienvenidos", "Todo el mundo miente", "Sin salida", "Quién es quién",
                           "Dolor", "Confesiones", "Traición", "Culpables"), 50),
    ("Haus des Geldes", "Teil 1", ("Der Plan", "Die Geiseln", "Tödlicher Fehler", "Das Lösegeld",
                                   "Im Tresorraum", "Die Übergabe"), 45),
)
KIDS_SHOW = ("Peppa Wutz", "Staffel 1", ("Matschige Pfützen", "Mister Dinosaurier ist weg", "Die beste Freundin",
                                         "Polly Papagei", "Versteckspiel"), 5)
MOVIES = (("千と千尋の神隠し", 125), ("Die fabelhafte Welt der Amélie", 122), ("Roma", 135))
DEVICES = ("Samsung 2019 UHD TV (Smart TV)", "Apple iPhone 13", "Chrome PC (Cadmium)")
PODCASTS = (
    ("Lage der Nation", ("Koalitionsstreit und Haushaltsloch", "Wärmepumpen, Wahlen, Wölfe", "Die Bahn-Bilanz")),
    ("The Daily", ("The Election Results", "Inside the Chip War", "A Reckoning for Big Tech")),
    ("Hard Fork", ("A.I. Agents Arrive", "The Smartphone Ban", "Is the Metaverse Back?")),
    ("Geschichten aus der Geschichte", ("Der große Schnee", "Die Tulpenmanie", "Das Bernsteinzimmer")),
)
CHANNELS = (
    ("Kurzgesagt – In a Nutshell", "UCsXVk37bltHxD1rDPwtNM8Q",
     ("The Most Dangerous Stuff in the Universe", "What If You Fell Into a Black Hole?", "Why Aging Happens")),
    ("Joshua Weissman", "UChBEbMKI1eCcejTtmI32UEw",
     ("Perfect Sourdough at Home", "The $1 Pizza Challenge", "Making Ramen From Scratch")),
    ("3Blue1Brown", "UCYO_jab_esuFRV4b17AJtAw",
     ("But what is a neural network?", "The determinant", "Why π is in the normal distribution")),
    ("Mrwhosetheboss", "UCMiJRAwDNSNzuYeN2uWa0pA",
     ("I Tried Every Phone of 2026", "The Best Laptop You Can Buy", "Don't Buy These Gadgets")),
    ("MAITHINK X", "UCyHDQ5C6z1NDmJ4g6SerW8g",
     ("Warum wir schlecht schlafen", "Die Wahrheit über Mikroplastik", "Ist Kernfusion die Lösung?")),
)
MUSIC_VIDEOS = (("Nena - Topic", "UCn4xPKgr5DWM0VX0cE1tw8A", ("99 Luftballons", "Irgendwie, irgendwo, irgendwann")),
                ("Khruangbin - Topic", "UCx3hN0bQGd9Q6hBf0bQk7eA", ("Time (You and I)", "So We Won't Forget")))
ADS = (("Die neue Küche von IKEA", "IKEA Deutschland", "UCad0000000000000000ikea"),
       ("Spar dir den Stress – mit Check24", "CHECK24", "UCad00000000000000check24"))


@dataclass(frozen=True)
class ExportFiles:
    netflix_csv: Path
    spotify_dir: Path
    youtube_json: Path


def _days(start: datetime, end: datetime) -> Iterator[date]:
    """Local days whose sessions can start in [start, end), one day of margin before (late-night sessions)."""
    day = start.astimezone(ZONE).date() - timedelta(days=1)
    while day <= (end - timedelta(microseconds=1)).astimezone(ZONE).date():
        yield day
        day += timedelta(days=1)


def _hms(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _video_id(*key: object) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    n = int(hexdigest("yt", *key, size=9), 16)
    return "".join(alphabet[(n >> (6 * k)) & 63] for k in range(11))


# ------------------------------------------------------------------------------------------------ Netflix

def _netflix_sessions(day: date) -> list[tuple[str, datetime, float, str, str, float, str]]:
    """(profile, start UTC, seconds, title, supplemental type, bookmark seconds, device) of one local day."""
    out: list[tuple[str, datetime, float, str, str, float, str]] = []
    tv = DEVICES[0]
    # the Trakt demo's Netflix show, watched on Netflix (Trakt's Netflix scrobbler logged it there too)
    netflix_watches = [w for w in trakt_watches_on(day) if w["type"] == "episode" and w["show"][10] == "Netflix"]
    for k, w in enumerate(netflix_watches):
        item = trakt_item(w, full=True)
        runtime = item["episode"]["runtime"] * 60
        start = w["watched_at"] - timedelta(seconds=runtime)
        title = f"{w['show'][0]}: Season {w['season']}: {item['episode']['title']} (Episode {w['number']})"
        if k == 0 and u("nf-trailer", day) < 0.5:
            out.append((PROFILE, start - timedelta(seconds=95), 31, f"{w['show'][0]}: Season {w['season']} (Trailer)",
                        "TRAILER", 31, tv))
        if u("nf-pause", day, k) < 0.25:  # paused halfway for a few minutes: two rows
            first = runtime * between(0.3, 0.7, "nf-cut", day, k)
            out.append((PROFILE, start - timedelta(seconds=240), first, title, "", first, tv))
            out.append((PROFILE, start + timedelta(seconds=first), runtime - first, title, "", runtime, tv))
        else:
            out.append((PROFILE, start, runtime, title, "", runtime, tv))
    # a Netflix-only series late in the evening on some days (late-night screen time)
    if not netflix_watches and u("nf-late", day) < 0.3:
        show, season, episodes, runtime = pick(NETFLIX_SHOWS, "nf-show", (day.toordinal() - 3) // 7)
        at = local(day, between(22.5 * 60, 23.5 * 60, "nf-late-at", day)).replace(microsecond=0)
        n = 1 + int(u("nf-late-n", day) * 3)
        first = (day.toordinal() // 2) % len(episodes)

        def title(k: int) -> str:
            number = 1 + (first + k) % len(episodes)
            return f"{show}: {season}: {episodes[number - 1]} (Episode {number})"

        promo = u("nf-hook", day)
        if promo < 0.4:  # the title's hook autoplays on the tile, or a trailer of another show in the row
            out.append((PROFILE, at - timedelta(seconds=40), 12, f"{show}_hook_primary_16x9", "HOOK", 12, tv))
        elif promo < 0.7:
            out.append((PROFILE, at - timedelta(seconds=90), 48, "Stranger Things: Season 5 (Trailer)", "TRAILER",
                        48, tv))
        for k in range(n):
            seconds = (runtime + between(-3, 3, "nf-rt", show, title(k))) * 60
            out.append((PROFILE, at, seconds, title(k), "", seconds, tv))
            at += timedelta(seconds=seconds)
            # the next episode autoplays: a few seconds' blip, then (unless it was the last) the real play
            out.append((PROFILE, at + timedelta(seconds=5), 4, title(k + 1), "", 4, tv))
            at += timedelta(seconds=15)
    # a movie on some weekend afternoons, on the laptop
    if day.weekday() >= 5 and u("nf-movie", day) < 0.3:
        title, runtime = pick(MOVIES, "nf-movie-pick", day)
        at = local(day, between(14 * 60, 16 * 60, "nf-movie-at", day)).replace(microsecond=0)
        out.append((PROFILE, at, runtime * 60 - 300, title, "", runtime * 60 - 300, DEVICES[2]))
    # the kids' profile on weekend mornings (another profile: skipped by the import)
    if day.weekday() >= 5:
        show, season, episodes, runtime = KIDS_SHOW
        at = local(day, between(7.5 * 60, 8.5 * 60, "kids", day)).replace(microsecond=0)
        for k in range(3):
            number = 1 + (day.toordinal() + k) % len(episodes)
            out.append(("Kids", at, runtime * 60 + 30, f"{show}: {season}: {episodes[number - 1]} (Episode {number})",
                        "", runtime * 60 + 30, "Amazon Fire TV Stick 2020"))
            at += timedelta(seconds=runtime * 60 + 45)
    return out


def netflix_csv(start: datetime, end: datetime) -> str:
    rows = sorted((s for d in _days(start, end) for s in _netflix_sessions(d) if start <= s[1] < end),
                  key=lambda s: (s[1], s[0], s[3]), reverse=True)
    latest: set[tuple[str, str]] = set()
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(NETFLIX_HEADER)
    for profile, at, seconds, title, kind, bookmark, device in rows:
        attributes = "Autoplayed: user action: None; " if seconds < 60 else ""
        is_latest = (profile, title) not in latest
        latest.add((profile, title))
        writer.writerow([profile, at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"), _hms(seconds), attributes, title,
                         kind, device, _hms(bookmark), _hms(bookmark) if is_latest else "Not latest view",
                         "DE (Germany)"])
    return buf.getvalue()


# ------------------------------------------------------------------------------------------------ Spotify

def _play(ended: datetime, ms: int, **fields: Any) -> dict[str, Any]:
    play: dict[str, Any] = {
        "ts": ended.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "platform": "android", "ms_played": ms,
        "conn_country": "DE", "ip_addr": "192.0.2.44", "master_metadata_track_name": None,
        "master_metadata_album_artist_name": None, "master_metadata_album_album_name": None,
        "spotify_track_uri": None, "episode_name": None, "episode_show_name": None, "spotify_episode_uri": None,
        "audiobook_title": None, "audiobook_uri": None, "audiobook_chapter_uri": None,
        "audiobook_chapter_title": None, "reason_start": "trackdone", "reason_end": "trackdone", "shuffle": False,
        "skipped": False, "offline": False, "offline_timestamp": None, "incognito_mode": False,
    }
    play.update(fields)
    return play


def _spotify_plays(day: date) -> list[dict[str, Any]]:
    out = []
    # evening music at home is Spotify (the same plays reach Last.fm through Spotify's scrobbler)
    evening = local(day, 18 * 60)
    for k, (at, album, pos) in enumerate(p for p in lastfm_plays_on(day) if p[0] >= evening):
        artist, record, tracks = ALBUMS[album]
        name, seconds = tracks[pos]
        out.append(_play(at + timedelta(seconds=seconds), seconds * 1000, master_metadata_track_name=name,
                         master_metadata_album_artist_name=artist, master_metadata_album_album_name=record,
                         spotify_track_uri=f"spotify:track:{hexdigest('track', artist, name, size=11)}",
                         reason_start="clickrow" if k == 0 else "trackdone", shuffle=False))
    # podcasts: weekday mornings over breakfast, weekend late mornings
    if u("pod", day) < (0.8 if day.weekday() < 5 else 0.4):
        show, episodes = pick(PODCASTS, "pod-show", day)
        episode = pick(episodes, "pod-ep", day)
        hour = 7.25 if day.weekday() < 5 else 10.5
        at = local(day, between(hour * 60, hour * 60 + 25, "pod-at", day)).replace(microsecond=0)
        finished = u("pod-done", day) < 0.6
        ms = int(between(20, 55, "pod-ms", day) * 60_000)
        out.append(_play(at + timedelta(milliseconds=ms), ms, episode_name=episode, episode_show_name=show,
                         spotify_episode_uri=f"spotify:episode:{hexdigest('ep', show, episode, size=11)}",
                         reason_start="clickrow", reason_end="trackdone" if finished else "endplay",
                         platform="iOS 17.4 (iPhone14,5)"))
    return out


def spotify_json(start: datetime, end: datetime) -> str:
    plays = sorted((p for d in _days(start, end) for p in _spotify_plays(d)
                    if start <= datetime.fromisoformat(p["ts"].replace("Z", "+00:00")) < end),
                   key=lambda p: (p["ts"], p["spotify_track_uri"] or p["spotify_episode_uri"]))
    return json.dumps(plays, ensure_ascii=False, indent=2) + "\n"


# ------------------------------------------------------------------------------------------------ YouTube

def _watch(at: datetime, title: str, video: str | None, channel: tuple[str, str] | None, *, music: bool = False,
           ad: bool = False) -> dict[str, Any]:
    item: dict[str, Any] = {"header": "YouTube Music" if music else "YouTube", "title": f"Watched {title}"}
    if video:
        host = "music.youtube.com" if music else "www.youtube.com"
        item["titleUrl"] = f"https://{host}/watch?v={video}"
    if channel:
        item["subtitles"] = [{"name": channel[0], "url": f"https://www.youtube.com/channel/{channel[1]}"}]
    item["time"] = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"
    item["products"] = ["YouTube"]
    if ad:
        item["details"] = [{"name": "From Google Ads"}]
    item["activityControls"] = ["YouTube watch history"]
    return item


def _youtube_watches(day: date) -> list[dict[str, Any]]:
    out = []
    sessions = []
    if day.weekday() < 5 and u("yt-lunch", day) < 0.5:
        sessions.append(("lunch", between(12.25 * 60, 13 * 60, "yt-lunch-at", day), 2 + int(u("yt-ln", day) * 3)))
    if u("yt-late", day) < 0.3:
        sessions.append(("late", between(23 * 60, 24.25 * 60, "yt-late-at", day), 2 + int(u("yt-lt", day) * 4)))
    if day.weekday() >= 5 and u("yt-music", day) < 0.5:
        sessions.append(("music", between(11 * 60, 12 * 60, "yt-music-at", day), 3))
    for name, minutes, n in sessions:
        at = local(day, minutes) + timedelta(milliseconds=int(between(0, 999, "yt-ms", day, name)))
        for k in range(n):
            if name == "music":
                channel_name, channel_id, titles = pick(MUSIC_VIDEOS, "yt-mc", day, k)
                title = pick(titles, "yt-mt", day, k)
                out.append(_watch(at, title, _video_id(channel_name, title), (channel_name, channel_id), music=True))
                at += timedelta(seconds=between(200, 280, "yt-md", day, k))
                continue
            if u("yt-ad", day, name, k) < 0.25:
                ad_title, ad_channel, ad_channel_id = pick(ADS, "yt-adp", day, name, k)
                out.append(_watch(at, ad_title, _video_id("ad", ad_title), (ad_channel, ad_channel_id), ad=True))
                at += timedelta(seconds=between(6, 20, "yt-adl", day, name, k))
            if u("yt-removed", day, name, k) < 0.03:
                out.append(_watch(at, "a video that has been removed", None, None))
            else:
                channel_name, channel_id, titles = pick(CHANNELS, "yt-c", day, name, k)
                title = pick(titles, "yt-t", day, name, k)
                out.append(_watch(at, title, _video_id(channel_name, title), (channel_name, channel_id)))
            at += timedelta(seconds=between(3 * 60, 16 * 60, "yt-len", day, name, k))
    return out


def youtube_json(start: datetime, end: datetime) -> str:
    def when(w: dict[str, Any]) -> datetime:
        return datetime.fromisoformat(w["time"].replace("Z", "+00:00"))

    items = sorted((w for d in _days(start, end) for w in _youtube_watches(d) if start <= when(w) < end),
                   key=lambda w: (when(w), w["title"]), reverse=True)
    text = json.dumps(items, ensure_ascii=False, indent=2)
    # Google escapes these two characters in Takeout JSON; JSON outside strings never contains them
    return text.replace("=", "\\u003d").replace("'", "\\u0027") + "\n"


# ------------------------------------------------------------------------------------------------ files

def window(days: int, today: date | None = None) -> tuple[datetime, datetime]:
    """The demo's window: the `days` full UTC days before today (what `tracker demo` triggers the DAGs for)."""
    end = datetime.combine(today or datetime.now(UTC).date(), time(), UTC)
    return end - timedelta(days=days), end


def write_exports(folder: Path, start: datetime, end: datetime) -> ExportFiles:
    """Write the three exports for [start, end) into `folder` (replacing what a previous run wrote there)."""
    shutil.rmtree(folder, ignore_errors=True)
    netflix = folder / "netflix" / "CONTENT_INTERACTION" / "ViewingActivity.csv"
    spotify = folder / "Spotify Extended Streaming History"
    years = sorted({start.year, (end - timedelta(microseconds=1)).year})
    audio = spotify / f"Streaming_History_Audio_{'-'.join(map(str, years))}_0.json"
    youtube = folder / "Takeout" / "YouTube and YouTube Music" / "history" / "watch-history.json"
    for path, text in ((netflix, netflix_csv(start, end)), (audio, spotify_json(start, end)),
                       (youtube, youtube_json(start, end))):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return ExportFiles(netflix, spotify, youtube)


def import_demo_exports(days: int = 30, *, today: date | None = None, folder: Path | None = None,
                        dsn: str | None = None, echo: Callable[[str], object] = print) -> list:
    """Write the demo exports under the state folder and import them for every configured person.

    The demo's Netflix profile is `Demo` whatever the config says (the config names the person's real
    profile); the `Kids` rows are skipped like another profile's. Returns the import summaries.
    """
    import psycopg

    from tracker import settings
    from tracker.config import load_config
    from tracker.imports.consumption import import_netflix, import_spotify, import_youtube
    from tracker.warehouse.people import sync_people

    start, end = window(days, today)
    files = write_exports(folder or settings.state_dir() / "demo" / "exports", start, end)
    summaries = []
    config = load_config()
    with psycopg.connect(dsn or settings.warehouse_dsn()) as conn:
        sync_people(conn, config, "demo-exports-people")  # time zones for dim_person, as a source DAG would
        for person in config.people:
            demo_person = person.model_copy(update={"accounts": {**person.accounts, "netflix_profile": PROFILE}})
            for run, path in ((import_netflix, files.netflix_csv), (import_spotify, files.spotify_dir),
                              (import_youtube, files.youtube_json)):
                summary = run(conn, path, demo_person)
                summaries.append(summary)
                echo(f"{summary.source} export for {person.id}: {summary.inserted} new, {summary.updated} updated, "
                     f"{summary.unchanged} unchanged, {sum(summary.skipped.values())} skipped, "
                     f"{sum(summary.quarantined.values())} quarantined")
    return summaries
