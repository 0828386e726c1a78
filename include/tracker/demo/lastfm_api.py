"""Fake Last.fm under `/lastfm/2.0/`: `user.getRecentTracks` in Last.fm's JSON format.

The demo listener (user `demo-user`) plays whole album runs: an evening block most days, a morning commute on
weekdays, an afternoon block on some weekends. Newest first, `limit` ≤ 200, string `@attr` values, the
now-playing item prepended on page 1, a lone track sent as an object. Errors use Last.fm's codes: 10 for a
missing or `bad` api_key (HTTP 403), 6 for an unknown user (404), 3 for another method (400).

Users `demo-user-<key>` (key `[a-z0-9_]+`, e.g. `p01`) are seeded variants of the demo listener (every seed also
takes the key); `demo-user` is unchanged. Requests are counted per `user` (`subject`).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tracker.demo.seeded import between, hexdigest, local, local_days, now, u
from tracker.demo.server import DemoRequest, DemoResponse, Route, counted

USER = "demo-user"
ALBUMS: tuple[tuple[str, str, tuple[tuple[str, int], ...]], ...] = (
    ("Radiohead", "In Rainbows", (("15 Step", 237), ("Bodysnatchers", 242), ("Nude", 255),
                                  ("Weird Fishes/Arpeggi", 318), ("All I Need", 228), ("Faust Arp", 129),
                                  ("Reckoner", 290), ("House of Cards", 328), ("Jigsaw Falling into Place", 248),
                                  ("Videotape", 279))),
    ("Bonobo", "Migration", (("Migration", 323), ("Break Apart", 283), ("Outlier", 475), ("Grains", 273),
                             ("Second Sun", 238), ("Surface", 258), ("Bambro Koyo Ganda", 294), ("Kerala", 242))),
    ("Khruangbin", "Con Todo El Mundo", (("Como Me Quieres", 271), ("Lady and Man", 266), ("Maria También", 200),
                                         ("August 10", 241), ("Evan Finds the Third Room", 260),
                                         ("Rules", 270))),
    ("Nils Frahm", "All Melody", (("The Whole Universe Wants to Be Touched", 189), ("Sunson", 543),
                                  ("A Place", 443), ("My Friend the Forest", 292), ("Human Range", 420))),
    ("Little Simz", "Grey Area", (("Offence", 166), ("Boss", 192), ("Selfish", 238), ("Wounds", 255),
                                  ("Venom", 186), ("Therapy", 206), ("Sherbet Sunset", 224))),
    ("Fleetwood Mac", "Rumours", (("Second Hand News", 163), ("Dreams", 257), ("Never Going Back Again", 134),
                                  ("Don't Stop", 193), ("Go Your Own Way", 223), ("Songbird", 200),
                                  ("The Chain", 270))),
)


def _uuid(*key: object) -> str:
    h = hexdigest(*key, size=16)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def listener_key(user: str) -> tuple[str, ...] | None:
    """() for the demo listener, (key,) for `demo-user-<key>`, None for anyone else (case-insensitive)."""
    user = user.lower()
    if user == USER:
        return ()
    match = re.fullmatch(rf"{USER}-([a-z0-9_]+)", user)
    return (match.group(1),) if match else None


def _block(day: date, name: str, start_min: float, n: int,
           salt: tuple[str, ...] = ()) -> list[tuple[datetime, int, int]]:
    """`n` consecutive plays (time, album, track) from a seeded album position, starting at local start_min."""
    album = int(u("album", day, name, *salt) * len(ALBUMS))
    pos = int(u("pos", day, name, *salt) * len(ALBUMS[album][2]))
    at, out = start_min * 60, []
    for k in range(n):
        tracks = ALBUMS[album][2]
        out.append((local(day, at / 60).replace(microsecond=0), album, pos))
        at += tracks[pos][1] + between(0, 4, "gap", day, name, k, *salt)
        pos += 1
        if pos == len(tracks):  # album over: another one
            album, pos = (album + 1 + int(u("next", day, name, k, *salt) * (len(ALBUMS) - 1))) % len(ALBUMS), 0
    return out


def plays_on(day: date, salt: tuple[str, ...] = ()) -> list[tuple[datetime, int, int]]:
    """The plays of `day`: the demo listener's, or with `salt=(key,)` the variant `demo-user-<key>`'s."""
    def r(*key: object) -> float:
        return u(*key, *salt)

    plays = []
    if r("evening", day) < 0.85:
        plays += _block(day, "evening", between(19 * 60, 21 * 60, "es", day, *salt), 10 + int(r("en", day) * 26),
                        salt)
    if day.weekday() < 5 and r("commute", day) < 0.6:
        plays += _block(day, "commute", between(7.75 * 60, 8.25 * 60, "cs", day, *salt), 6 + int(r("cn", day) * 7),
                        salt)
    if day.weekday() >= 5 and r("afternoon", day) < 0.5:
        plays += _block(day, "afternoon", between(14 * 60, 16 * 60, "as", day, *salt), 8 + int(r("an", day) * 13),
                        salt)
    return plays


def _track(at: datetime | None, album: int, pos: int) -> dict[str, Any]:
    artist, title, tracks = ALBUMS[album]
    name = tracks[pos][0]
    image = hexdigest("img", artist, title, size=16)
    item: dict[str, Any] = {
        "artist": {"mbid": _uuid("artist", artist), "#text": artist}, "streamable": "0",
        "image": [{"size": s, "#text": f"https://lastfm.freetls.fastly.net/i/u/{px}/{image}.png"}
                  for s, px in (("small", "34s"), ("medium", "64s"), ("large", "174s"), ("extralarge", "300x300"))],
        "mbid": _uuid("track", artist, name) if pos % 3 else "",
        "album": {"mbid": _uuid("album", artist, title), "#text": title}, "name": name,
        "url": f"https://www.last.fm/music/{artist.replace(' ', '+')}/_/{name.replace(' ', '+')}",
    }
    if at is None:
        item["@attr"] = {"nowplaying": "true"}
    else:
        item["date"] = {"uts": str(int(at.timestamp())), "#text": at.strftime("%d %b %Y, %H:%M")}
    return item


def _error(status: int, code: int, message: str) -> DemoResponse:
    return DemoResponse(status, {"error": code, "message": message})


def subject(req: DemoRequest) -> str:
    """Whose requests these are: the `user` asked for, else the api key."""
    q = {k: v[0] for k, v in req.query.items()}
    return q.get("user", "").lower() or f"key:{q.get('api_key', '')}"


def routes(today: date | None = None) -> dict[str, Route]:
    @counted("lastfm", subject)
    def lastfm(req: DemoRequest) -> DemoResponse:
        q = {k: v[0] for k, v in req.query.items()}
        if q.get("method", "").lower() != "user.getrecenttracks":
            return _error(400, 3, "Invalid Method - No method with that name in this package")
        if q.get("api_key", "") in ("", "bad"):
            return _error(403, 10, "Invalid API key - You must be granted a valid key by last.fm")
        salt = listener_key(q.get("user", ""))
        if salt is None:
            return _error(404, 6, "User not found")
        moment = now(today)
        start = datetime.fromtimestamp(int(q.get("from", 0)), UTC)
        end = min(moment, datetime.fromtimestamp(int(q["to"]), UTC)) if "to" in q else moment
        limit, page = max(1, min(200, int(q.get("limit", 50)))), max(1, int(q.get("page", 1)))
        days = local_days(max(start, moment - timedelta(days=3 * 365)), end)
        plays = sorted((p for d in days for p in plays_on(d, salt) if start <= p[0] < end), reverse=True)
        pages = -(-len(plays) // limit)
        tracks = [_track(*p) for p in plays[(page - 1) * limit: page * limit]]
        if page == 1:  # Last.fm prepends what is playing right now, whatever the window
            album = int(u("playing", moment.date(), *salt) * len(ALBUMS))
            tracks.insert(0, _track(None, album, int(u("playing-pos", moment.date(), *salt)
                                                     * len(ALBUMS[album][2]))))
        attr = {"user": USER if not salt else f"{USER}-{salt[0]}", "totalPages": str(pages), "page": str(page),
                "perPage": str(limit), "total": str(len(plays))}
        return DemoResponse(200, {"recenttracks": {"track": tracks[0] if len(tracks) == 1 else tracks,
                                                   "@attr": attr}})

    return {"/lastfm/2.0": lastfm}
