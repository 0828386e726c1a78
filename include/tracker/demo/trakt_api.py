"""Fake Trakt under `/trakt`: `GET /sync/history` and the OAuth device flow, in Trakt's formats.

The demo viewer binges 2–5 episodes of the week's show on many evenings (episodes continue through the week)
and watches a movie now and then, mostly on Friday/Saturday. History is newest first with the
`X-Pagination-*` headers; `extended=full` adds runtimes and the rest. Requests need `trakt-api-key` (else 403)
and a bearer token other than `bad` (else 401). Device flow: the first poll of a code is pending (400), the
next one returns tokens, later ones 409; unknown codes 404. Refresh (`POST /oauth/token`,
grant_type=refresh_token): a `demo-refresh-…` token gives a new pair once; as on Trakt, a used or unknown
refresh token is 401 invalid_grant.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tracker.demo.seeded import FIRST_DAY, between, hexdigest, local, local_days, now, parse_time, pick, u
from tracker.demo.server import DemoRequest, DemoResponse, Route, counted

# (title, year, trakt, slug, imdb, tmdb, tvdb, runtime, seasons, episodes per season, network)
SHOWS = (
    ("Severance", 2022, 154997, "severance", "tt11280740", 95396, 371980, 50, 2, 10, "Apple TV+"),
    ("The Bear", 2022, 192263, "the-bear", "tt14452776", 136315, 412409, 30, 3, 10, "FX"),
    ("Slow Horses", 2022, 159513, "slow-horses", "tt5875444", 95480, 374123, 47, 4, 6, "Apple TV+"),
    ("Dark", 2017, 118163, "dark", "tt5753856", 70523, 334824, 55, 3, 8, "Netflix"),
    ("Shōgun", 2024, 180770, "shogun-2024", "tt2788316", 126308, 392573, 60, 1, 10, "FX"),
)
# (title, year, trakt, slug, imdb, tmdb, runtime)
MOVIES = (
    ("Dune: Part Two", 2024, 670488, "dune-part-two-2024", "tt15239678", 693134, 167),
    ("Past Lives", 2023, 713545, "past-lives-2023", "tt13238346", 666277, 106),
    ("Perfect Days", 2023, 797845, "perfect-days-2023", "tt27503384", 976893, 124),
    ("Arrival", 2016, 206012, "arrival-2016", "tt2543164", 329865, 116),
    ("Spirited Away", 2001, 128, "spirited-away-2001", "tt0245429", 129, 125),
    ("Anatomy of a Fall", 2023, 799612, "anatomy-of-a-fall-2023", "tt17009710", 915935, 151),
)
WORDS = ("Signal", "Harbour", "Ashes", "Glass", "Winter", "Ledger", "Orchard", "Static", "Lanterns", "Tide")
_BASE = FIRST_DAY.toordinal()


def _ms(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _week_show(day: date) -> tuple[int, int]:
    """(show index, first season) of the Monday-to-Sunday week of `day`."""
    week = (day.toordinal() - day.weekday() - _BASE) // 7
    show = week % len(SHOWS)
    return show, 1 + (week // len(SHOWS)) % SHOWS[show][8]


def _binge(day: date) -> int:
    return 2 + int(u("bn", day) * 4) if u("binge", day) < (0.65 if day.weekday() >= 5 else 0.5) else 0


def _movie_day(day: date) -> bool:
    return u("movie", day) < (0.25 if day.weekday() in (4, 5) else 0.08)


def watches_on(day: date) -> list[dict[str, Any]]:
    """The day's history entries (internal form): movies or a binge block of episodes."""
    action = pick(("scrobble",) * 14 + ("watch",) * 5 + ("checkin",), "action", day)
    hid = 9_000_000_000 + (day.toordinal() - _BASE) * 10
    start = between(20 * 60, 21.5 * 60, "start", day)
    if _movie_day(day):
        movie = pick(MOVIES, "m", day)
        return [{"id": hid, "type": "movie", "action": action, "movie": movie,
                 "watched_at": local(day, start + movie[6] + between(2, 9, "credits", day)).replace(microsecond=0)}]
    n = _binge(day)
    if not n:
        return []
    show, season = _week_show(day)
    monday = day - timedelta(days=day.weekday())
    before = sum(_binge(monday + timedelta(days=k)) for k in range(day.weekday())
                 if not _movie_day(monday + timedelta(days=k)))
    per_season, seasons, runtime = SHOWS[show][9], SHOWS[show][8], SHOWS[show][7]
    out, at = [], start
    for k in range(n):
        index = (season - 1) * per_season + before + k
        if index >= seasons * per_season:  # caught up with the show: the binge ends
            break
        s, e = 1 + index // per_season, 1 + index % per_season
        at += runtime + between(-4, 6, "rt", show, s, e) + between(1, 4, "gap", day, k)
        out.append({"id": hid + k, "type": "episode", "action": action, "show": SHOWS[show], "season": s,
                    "number": e, "watched_at": local(day, at).replace(microsecond=0)})
    return out


def _item(w: dict[str, Any], full: bool) -> dict[str, Any]:
    item = {"id": w["id"], "watched_at": _ms(w["watched_at"]), "action": w["action"], "type": w["type"]}
    if w["type"] == "movie":
        title, year, trakt, slug, imdb, tmdb, runtime = w["movie"]
        item["movie"] = {"title": title, "year": year, "ids": {"trakt": trakt, "slug": slug, "imdb": imdb,
                                                               "tmdb": tmdb}}
        if full:
            item["movie"].update({"tagline": None, "overview": f"{title} ({year}).", "released": f"{year}-09-01",
                                  "runtime": runtime, "country": "us", "rating": round(between(6.5, 8.9, trakt), 5),
                                  "votes": int(between(2000, 90000, "v", trakt)), "comment_count": 40,
                                  "language": "en", "genres": ["drama"], "certification": "PG-13"})
        return item
    title, year, trakt, slug, imdb, tmdb, tvdb, runtime, _, _, network = w["show"]
    s, e = w["season"], w["number"]
    ep_trakt = trakt * 1000 + s * 100 + e
    item["episode"] = {"season": s, "number": e, "title": f"{pick(WORDS, 'a', trakt, s, e)} "
                       f"{pick(WORDS, 'b', trakt, s, e)}", "ids": {"trakt": ep_trakt, "tvdb": tvdb * 100 + s * 20 + e,
                                                                   "imdb": None, "tmdb": tmdb * 100 + s * 20 + e,
                                                                   "tvrage": None}}
    item["show"] = {"title": title, "year": year, "ids": {"trakt": trakt, "slug": slug, "tvdb": tvdb, "imdb": imdb,
                                                          "tmdb": tmdb, "tvrage": None}}
    if full:
        item["episode"].update({"number_abs": None, "overview": "The plot thickens.", "rating": 8.2, "votes": 900,
                                "comment_count": 3, "first_aired": _ms(datetime(year + s - 1, 3, 1, tzinfo=UTC)
                                                                       + timedelta(weeks=e)),
                                "runtime": int(runtime + between(-4, 6, "rt", SHOWS.index(w["show"]), s, e)),
                                "episode_type": "standard"})
        item["show"].update({"overview": f"{title}.", "runtime": runtime, "network": network, "country": "us",
                             "status": "returning series", "rating": 8.4, "language": "en",
                             "genres": ["drama"], "aired_episodes": w["show"][8] * w["show"][9]})
    return item


def _tokens(seed: object, moment: datetime) -> dict[str, Any]:
    return {"access_token": hexdigest("access", seed, size=32), "token_type": "bearer", "expires_in": 86400,
            "refresh_token": "demo-refresh-" + hexdigest("refresh", seed, size=16), "scope": "public",
            "created_at": int(moment.timestamp())}


def subject(req: DemoRequest) -> str:
    """Trakt counts per user: one user per token, so the bearer token."""
    auth = next((v for k, v in req.headers.items() if k.lower() == "authorization"), "")
    return f"token:{auth.split()[-1] if auth.split() else ''}"


def routes(today: date | None = None) -> dict[str, Route]:
    codes: dict[str, dict[str, Any]] = {}
    used_refresh: set[str] = set()
    lock = threading.Lock()

    @counted("trakt", subject)
    def history(req: DemoRequest) -> DemoResponse:
        h = {k.lower(): v for k, v in req.headers.items()}
        if not h.get("trakt-api-key"):
            return DemoResponse(403, b"")
        if not h.get("authorization", "").startswith("Bearer ") or h["authorization"] == "Bearer bad":
            return DemoResponse(401, {"error": "invalid_token", "error_description": "The access token is invalid"})
        q = {k: v[0] for k, v in req.query.items()}
        moment = now(today)
        start = parse_time(q["start_at"]) if "start_at" in q else moment - timedelta(days=365)
        end = min(moment, parse_time(q["end_at"])) if "end_at" in q else moment
        limit, page = max(1, min(1000, int(q.get("limit", 10)))), max(1, int(q.get("page", 1)))
        found = sorted((w for d in local_days(start, end) for w in watches_on(d) if start <= w["watched_at"] <= end),
                       key=lambda w: w["watched_at"], reverse=True)
        pages = max(1, -(-len(found) // limit))
        body = [_item(w, q.get("extended") == "full") for w in found[(page - 1) * limit: page * limit]]
        return DemoResponse(200, body, {"X-Pagination-Page": str(page), "X-Pagination-Limit": str(limit),
                                        "X-Pagination-Page-Count": str(pages),
                                        "X-Pagination-Item-Count": str(len(found))})

    def device(req: DemoRequest) -> DemoResponse:
        body = json.loads(req.body or b"{}")
        if req.subpath.rstrip("/") == "/code":
            if not body.get("client_id"):
                return DemoResponse(403, b"")
            with lock:
                code = hexdigest("device", len(codes), body["client_id"], size=20)
                codes[code] = {"polls": 0}
            return DemoResponse(200, {"device_code": code, "user_code": hexdigest("user", code, size=4).upper(),
                                      "verification_url": "https://trakt.tv/activate", "expires_in": 600,
                                      "interval": 5})
        with lock:
            state = codes.get(body.get("code", ""))
            if state is None:
                return DemoResponse(404, b"")
            state["polls"] += 1
            polls = state["polls"]
        if polls == 1:
            return DemoResponse(400, b"")
        if polls == 2:
            return DemoResponse(200, _tokens(body["code"], now(today)))
        return DemoResponse(409, b"")

    def token(req: DemoRequest) -> DemoResponse:
        body = json.loads(req.body or b"{}")
        refresh = str(body.get("refresh_token"))
        with lock:
            reused = refresh in used_refresh
            used_refresh.add(refresh)
        if body.get("grant_type") != "refresh_token" or not refresh.startswith("demo-refresh-") or reused:
            return DemoResponse(401, {"error": "invalid_grant", "error_description": "The provided authorization "
                                      "grant is invalid, expired, revoked, or was issued to another client."})
        return DemoResponse(200, _tokens(body["refresh_token"], now(today)))

    return {"/trakt/sync/history": history, "/trakt/oauth/device": device, "/trakt/oauth/token": token}
