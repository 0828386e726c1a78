"""File imports: Spotify / Netflix exports through Tracker's streaming import vs pandas read + to_sql.

Usage: python bench/bench_consumption_import.py [--spotify-rows 500000] [--netflix-rows 100000]
       [--pandas-cap 100000] [--dsn DSN]   (default: a throwaway PostgreSQL cluster)
Generates the files in a temp folder (Spotify in the pretty-printed Streaming_History_Audio layout), then
imports each in a fresh child process so `ru_maxrss` is that import's own peak: the full size and half of
it, to show memory does not grow with the file. The pandas baseline (read_json / read_csv, then
`to_sql(method="multi")`, no parsing rules, no dedupe, no merge) is capped at --pandas-cap rows because it
holds the whole file in memory and inserts at a few thousand rows/s. Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

START = datetime(2020, 1, 1, tzinfo=UTC)
NETFLIX_HEADER = ["Profile Name", "Start Time", "Duration", "Attributes", "Title", "Supplemental Video Type",
                  "Device Type", "Bookmark", "Latest Bookmark", "Country"]


def spotify_play(i: int) -> dict:
    ts = START + timedelta(seconds=180 * i)
    kind = i % 50
    track = episode = book = None
    if kind == 0:
        episode = (f"Folge {i}", f"Podcast {i % 40}", f"spotify:episode:{i:022d}")
    elif kind == 1:
        book = (f"Buch {i % 30}", f"spotify:show:{i % 30:022d}", f"spotify:episode:b{i:021d}", f"Kapitel {i % 20}")
    else:
        track = (f"Track {i % 5000}", f"Artist {i % 700}", f"Album {i % 1500}", f"spotify:track:{i % 5000:022d}")
    return {
        "ts": ts.strftime("%Y-%m-%dT%H:%M:%SZ"), "platform": "android", "ms_played": (i * 7919) % 400_000,
        "conn_country": "DE", "ip_addr": "192.0.2.10",
        "master_metadata_track_name": track and track[0], "master_metadata_album_artist_name": track and track[1],
        "master_metadata_album_album_name": track and track[2], "spotify_track_uri": track and track[3],
        "episode_name": episode and episode[0], "episode_show_name": episode and episode[1],
        "spotify_episode_uri": episode and episode[2], "audiobook_title": book and book[0],
        "audiobook_uri": book and book[1], "audiobook_chapter_uri": book and book[2],
        "audiobook_chapter_title": book and book[3], "reason_start": "trackdone", "reason_end": "trackdone",
        "shuffle": i % 3 == 0, "skipped": None if i % 20 == 0 else i % 7 == 0, "offline": False,
        "offline_timestamp": int(ts.timestamp()) - 200, "incognito_mode": False,
    }


def write_spotify(path: Path, n: int) -> None:
    with open(path, "wb") as fh:
        fh.write(b"[\n")
        for i in range(n):
            text = orjson.dumps(spotify_play(i), option=orjson.OPT_INDENT_2).replace(b"\n", b"\n  ")
            fh.write(b"  " + text + (b",\n" if i < n - 1 else b"\n"))
        fh.write(b"]")


def write_netflix(path: Path, n: int) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(NETFLIX_HEADER)
        for i in range(n):
            start = START + timedelta(minutes=37 * i)
            hms = f"{(i % 3):02d}:{(i * 7) % 60:02d}:{(i * 13) % 60:02d}"
            title = (f"Show {i % 300}: Season {i % 5 + 1}: Episode Title {i % 13} (Episode {i % 13 + 1})"
                     if i % 4 else f"Film Nummer {i % 900} – Ü")
            out.writerow(["Ann" if i % 5 else "Kids", start.strftime("%Y-%m-%d %H:%M:%S"), hms,
                          "Autoplayed: user action: None; " if i % 9 == 0 else "", title,
                          "TRAILER" if i % 17 == 0 else "", "Chrome PC (Cadmium)", hms, hms, "DE (Germany)"])


# --- child processes: one import each, so ru_maxrss is that import's peak ---------------------------------


def child_tracker(source: str, path: str, dsn: str, person_id: str) -> dict:
    import psycopg
    from tracker.config import Person
    from tracker.imports.consumption import import_netflix, import_spotify

    person = Person(id=person_id, timezone="Europe/Berlin")
    importer = {"spotify": import_spotify, "netflix": import_netflix}[source]
    with psycopg.connect(dsn, autocommit=True) as conn:
        t0 = time.perf_counter()
        summary = importer(conn, path, person)
        seconds = time.perf_counter() - t0
    return {"rows": summary.imported, "read": summary.read, "inserted": summary.inserted, "seconds": seconds}


def child_pandas(source: str, path: str, dsn: str, person_id: str) -> dict:
    import pandas as pd
    import sqlalchemy

    t0 = time.perf_counter()
    frame = pd.read_json(path) if source == "spotify" else pd.read_csv(path)
    engine = sqlalchemy.create_engine(dsn.replace("postgresql://", "postgresql+psycopg://"))
    frame.to_sql(f"{source}_pandas", engine, schema="bench", if_exists="replace", index=False, method="multi",
                 chunksize=65_535 // len(frame.columns))  # PostgreSQL's bind-parameter limit per statement
    seconds = time.perf_counter() - t0
    engine.dispose()
    return {"rows": len(frame), "read": len(frame), "inserted": len(frame), "seconds": seconds}


def child_main(kind: str, source: str, path: str, dsn: str, person_id: str) -> None:
    import resource

    result = (child_tracker if kind == "tracker" else child_pandas)(source, path, dsn, person_id)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def measure(kind: str, source: str, path: Path, dsn: str, person_id: str = "bench") -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", kind, source, str(path), dsn, person_id],
                         check=True, capture_output=True, text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result |= {"kind": kind, "source": source, "mb": path.stat().st_size / 1e6,
               "rate": result["rows"] / result["seconds"]}
    return result


def run(dsn: str, spotify_rows: int, netflix_rows: int, cap: int) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("create schema if not exists bench")
    folder = Path(tempfile.mkdtemp(prefix="tracker-bench-media-"))
    try:
        files: dict[tuple[str, int], Path] = {}
        t0 = time.perf_counter()
        for n in sorted({spotify_rows // 2, spotify_rows, min(cap, spotify_rows)}):
            files["spotify", n] = folder / f"s{n}" / "Streaming_History_Audio_2020-2024_0.json"
            files["spotify", n].parent.mkdir()
            write_spotify(files["spotify", n], n)
        for n in sorted({netflix_rows // 2, netflix_rows, min(cap, netflix_rows)}):
            files["netflix", n] = folder / f"n{n}" / "ViewingActivity.csv"
            files["netflix", n].parent.mkdir()
            write_netflix(files["netflix", n], n)
        print(f"generated {len(files)} files in {time.perf_counter() - t0:.0f}s")
        results = []
        for source, full in (("spotify", spotify_rows), ("netflix", netflix_rows)):
            for n in (full // 2, full):
                results.append(measure("tracker", source, files[source, n], dsn, f"bench_{source}_{n}"))
            again = measure("tracker", source, files[source, full], dsn, f"bench_{source}_{full}")
            results.append(again | {"kind": "tracker re-import (no-op)"})
            results.append(measure("pandas", source, files[source, min(cap, full)], dsn))
        report(results, cap)
    finally:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("drop schema bench cascade")
            for table in ("raw.spotify__streams", "raw.netflix__viewing_activity"):
                conn.execute(f"delete from {table} where person_id like 'bench%'")


def report(results: list[dict], cap: int) -> None:
    print(f"\n{'path':30} {'source':8} {'rows':>9} {'file MB':>8} {'seconds':>8} {'rows/s':>9} {'peak RSS MB':>12}")
    for r in results:
        print(f"{r['kind']:30} {r['source']:8} {r['rows']:9,} {r['mb']:8.0f} {r['seconds']:8.1f} {r['rate']:9,.0f} "
              f"{r['peak_rss_mb']:12.0f}")
    print(f"\npandas baseline capped at {cap:,} rows (it loads the whole file, then inserts ~10^3-10^4 rows/s).")
    for source in ("spotify", "netflix"):
        ours = [r for r in results if r["source"] == source and r["kind"] == "tracker"]
        pandas = next(r for r in results if r["source"] == source and r["kind"] == "pandas")
        half, full = ours
        print(f"{source}: tracker {full['rate']:,.0f} rows/s at {full['rows']:,} rows vs pandas {pandas['rate']:,.0f} "
              f"rows/s at {pandas['rows']:,} rows = {full['rate'] / pandas['rate']:.1f}x; peak RSS "
              f"{half['peak_rss_mb']:.0f} MB at {half['rows']:,} rows -> {full['peak_rss_mb']:.0f} MB at "
              f"{full['rows']:,} rows (pandas: {pandas['peak_rss_mb']:.0f} MB at {pandas['rows']:,})")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main(*sys.argv[2:7])
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--spotify-rows", type=int, default=500_000)
    parser.add_argument("--netflix-rows", type=int, default=100_000)
    parser.add_argument("--pandas-cap", type=int, default=100_000)
    parser.add_argument("--dsn", default=None)
    args = parser.parse_args()
    if args.dsn:
        run(args.dsn, args.spotify_rows, args.netflix_rows, args.pandas_cap)
    else:
        from tracker.stack.postgres import throwaway_cluster

        with throwaway_cluster() as dsn:
            run(dsn, args.spotify_rows, args.netflix_rows, args.pandas_cap)


if __name__ == "__main__":
    main()
