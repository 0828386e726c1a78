"""Media consumption exports → raw tables: Netflix viewing activity, Spotify plays, YouTube watch history.

Each `import_*` reads a file (or folder) for one configured person and merges it with the keyed loader: the
same file twice leaves the tables identical, overlapping exports add no duplicates. The person's time zone
is stored on every row so staging can derive local times.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
from psycopg.types.json import Jsonb

from tracker.config import Person
from tracker.imports.runner import ImportSummary, run_import
from tracker.sources import netflix, spotify, youtube
from tracker.sources.export_files import OnBytes, walk
from tracker.sources.netflix.tables import NETFLIX
from tracker.sources.spotify.tables import SPOTIFY
from tracker.sources.youtube.tables import YOUTUBE

# the raw tables (warehouse/ddl/03x_<source>.sql): each to_row below writes their columns in that order
__all__ = ["FINDERS", "IMPORTERS", "NETFLIX", "SPOTIFY", "YOUTUBE", "import_netflix", "import_spotify",
           "import_youtube"]

# Spotify fields → column names (the rest of the row is typed in the Play itself).
_SPOTIFY_TEXT = {"master_metadata_track_name": "track_name", "master_metadata_album_artist_name": "artist_name",
                 "master_metadata_album_album_name": "album_name", "spotify_track_uri": "track_uri",
                 "episode_name": "episode_name", "episode_show_name": "show_name",
                 "spotify_episode_uri": "episode_uri", "audiobook_title": "audiobook_title",
                 "audiobook_uri": "audiobook_uri", "audiobook_chapter_uri": "audiobook_chapter_uri",
                 "audiobook_chapter_title": "audiobook_chapter_title", "platform": "platform",
                 "conn_country": "conn_country", "reason_start": "reason_start", "reason_end": "reason_end"}
assert list(_SPOTIFY_TEXT.values()) == list(SPOTIFY.columns)[6:21], "to_row order must follow SPOTIFY.columns"


def _verbatim(text: str) -> str:
    return text


def _raw_json(text: str) -> Jsonb:
    """An element's original JSON text, stored as jsonb without re-serialising it."""
    return Jsonb(text, dumps=_verbatim)


def _files(find: Callable[[Path], list[Path]], path: Path | str) -> list[Path]:
    return find(Path(path).resolve())


def _note_links(summary: ImportSummary, path: Path | str) -> ImportSummary:
    """Symbolic links in an export folder are never followed: list them in the summary."""
    if Path(path).is_dir() and (links := walk(Path(path), lambda name: False).links):
        shown = ", ".join(str(p.relative_to(path)) for p in links[:10]) + (" …" if len(links) > 10 else "")
        summary.notes.append(f"{len(links)} symlink(s) skipped (not followed): {shown}")
    return summary


def import_netflix(conn: psycopg.Connection, path: Path | str, person: Person, *,
                   on_bytes: OnBytes | None = None, run_id: str | None = None) -> ImportSummary:
    """ViewingActivity.csv (or an export folder holding one) → raw.netflix__viewing_activity.

    Only the profile in `person.accounts["netflix_profile"]` is imported; without it, every profile is.
    """
    profile = person.accounts.get("netflix_profile")
    seen: set[str] = set()

    def skip(v: netflix.Viewing) -> str | None:
        seen.add(v.profile_name)
        return None if profile is None or v.profile_name == profile else f"other profile {v.profile_name!r}"

    def to_row(v: netflix.Viewing, file: str) -> tuple:
        p = v.parts
        return (person.id, v.profile_name, v.started_at, v.title, v.duration_seconds,
                p and p.show, p and p.season, p and p.season_number, p and p.episode, p and p.episode_number,
                v.is_supplemental, v.supplemental_video_type, v.attributes, v.device_type, v.bookmark_seconds,
                v.latest_bookmark_seconds, v.is_latest_view, v.country, person.timezone, v.record, file)

    summary = run_import(conn, table=NETFLIX, source="netflix", entity="viewing_activity", person_id=person.id,
                         files=_files(netflix.find_files, path), parse=lambda f: netflix.parse(f, on_bytes),
                         to_row=to_row, skip=skip, run_id=run_id)
    _note_links(summary, path)
    if profile is None:
        summary.notes.append(f"no netflix_profile configured for {person.id!r}: imported every profile "
                             f"({', '.join(sorted(seen)) or 'none found'})")
    elif profile not in seen:
        summary.notes.append(f"profile {profile!r} not found; profiles in the file: {', '.join(sorted(seen))}")
    return summary


def import_spotify(conn: psycopg.Connection, path: Path | str, person: Person, *,
                   on_bytes: OnBytes | None = None, run_id: str | None = None) -> ImportSummary:
    """An Extended Streaming History folder (or one of its files) → raw.spotify__streams."""

    def to_row(p: spotify.Play, file: str) -> tuple:
        return (person.id, p.ended_at, p.item_key, p.started_at, p.ms_played, p.content_type,
                *(p.text[k] for k in _SPOTIFY_TEXT), p.flags["shuffle"], p.flags["skipped"], p.flags["offline"],
                p.offline_at, p.flags["incognito_mode"], person.timezone, _raw_json(p.raw), file)

    summary = run_import(conn, table=SPOTIFY, source="spotify", entity="streams", person_id=person.id,
                         files=_files(spotify.find_files, path), parse=lambda f: spotify.parse(f, on_bytes),
                         to_row=to_row, run_id=run_id)
    if Path(path).is_dir() and (video := walk(Path(path), _is_video).files):
        summary.notes.append(f"{len(video)} Streaming_History_Video_*.json file(s) left out (video plays)")
    return _note_links(summary, path)


def _is_video(name: str) -> bool:
    return name.startswith("Streaming_History_Video_") and name.endswith(".json")


def import_youtube(conn: psycopg.Connection, path: Path | str, person: Person, *,
                   on_bytes: OnBytes | None = None, run_id: str | None = None) -> ImportSummary:
    """watch-history.json (or a Takeout folder holding one) → raw.youtube__watch_history."""

    def to_row(w: youtube.Watch, file: str) -> tuple:
        return (person.id, w.watched_at, w.item_key, w.service, w.title, w.video_title, w.title_url, w.video_id,
                w.channel_name, w.channel_url, w.channel_id, w.is_ad, w.is_removed, person.timezone,
                _raw_json(w.raw), file)

    return _note_links(run_import(conn, table=YOUTUBE, source="youtube", entity="watch_history",
                                  person_id=person.id, files=_files(youtube.find_files, path),
                                  parse=lambda f: youtube.parse(f, on_bytes), to_row=to_row, run_id=run_id), path)


IMPORTERS = {"netflix": import_netflix, "spotify": import_spotify, "youtube": import_youtube}
FINDERS = {"netflix": netflix.find_files, "spotify": spotify.find_files, "youtube": youtube.find_files}
