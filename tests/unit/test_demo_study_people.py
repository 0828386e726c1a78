"""Many demo people in the fake APIs: every account key gets its own seeded person, the existing demo person is
unchanged to the byte, and the demo server counts requests per API, subject and second (`/_demo/requests`)."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from tracker.demo import github_api, google_health_api, lastfm_api
from tracker.demo.server import DemoRequest, DemoResponse, default_routes, serve_in_thread

TODAY = date(2026, 11, 23)
# sha256 of the default person's answers below, taken before the demo served more than one person
DEFAULT_FINGERPRINT = "dd6d3bf4ce1dc4940ee5ae639719e4040a44279d7496eafb514adf4f8b4ad86d"
GH = "/google-health/v4/users/me/dataTypes"


def _call(route: Any, method: str, path: str, prefix: str, query: dict[str, str] | None = None,
          body: Any = None, headers: dict[str, str] | None = None) -> DemoResponse:
    raw = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else b"")
    return route(DemoRequest(method, path, path[len(prefix):], {k: [v] for k, v in (query or {}).items()},
                             headers or {}, raw))


def _google(route: Any, token: str, data_type: str, action: str = "", query: dict[str, str] | None = None,
            body: Any = None) -> DemoResponse:
    method = "POST" if action else "GET"
    return _call(route, method, f"{GH}/{data_type}/dataPoints{action}", GH, query, body,
                 {"Authorization": f"Bearer {token}"})


LISTS = {  # type → filter over 2026-11-10 .. 2026-11-20
    "heart-rate": 'heart_rate.sample_time.physical_time >= "2026-11-10T00:00:00Z" AND '
                  'heart_rate.sample_time.physical_time < "2026-11-12T00:00:00Z"',
    "steps": 'steps.interval.start_time >= "2026-11-10T00:00:00Z" AND '
             'steps.interval.start_time < "2026-11-20T00:00:00Z"',
    "time-in-heart-rate-zone": 'time_in_heart_rate_zone.interval.start_time >= "2026-11-01T00:00:00Z" AND '
                               'time_in_heart_rate_zone.interval.start_time < "2026-11-20T00:00:00Z"',
    "exercise": 'exercise.interval.civil_start_time >= "2026-10-20" AND '
                'exercise.interval.civil_start_time < "2026-11-20"',
    "sleep": 'sleep.interval.end_time >= "2026-10-20T00:00:00Z" AND sleep.interval.end_time < "2026-11-20T00:00:00Z"',
    **{t: f'{t.replace("-", "_")}.date >= "2026-10-01" AND {t.replace("-", "_")}.date < "2026-11-23"'
       for t in ("daily-resting-heart-rate", "daily-heart-rate-variability", "daily-oxygen-saturation",
                 "daily-respiratory-rate", "daily-heart-rate-zones")},
}
ROLLUP_TYPES = ("steps", "heart-rate", "total-calories", "time-in-heart-rate-zone", "daily-resting-heart-rate",
                "daily-heart-rate-variability")


def google_answers(token: str) -> list[Any]:
    """Every kind of Google Health answer for one bearer token (pages followed)."""
    route = google_health_api.routes(TODAY)[google_health_api.DATA]
    out: list[Any] = []
    for data_type, expression in LISTS.items():
        page_token = ""
        while True:
            query = {"filter": expression, **({"pageToken": page_token} if page_token else {})}
            resp = _google(route, token, data_type, query=query)
            out.append((resp.status, resp.body))
            page_token = (resp.body or {}).get("nextPageToken", "")
            if not page_token:
                break
    for data_type in ROLLUP_TYPES:
        resp = _google(route, token, data_type, ":rollUp", body={
            "range": {"startTime": "2026-11-10T00:00:00Z", "endTime": "2026-11-13T00:00:00Z"}, "windowSize": "3600s"})
        out.append((resp.status, resp.body))
        resp = _google(route, token, data_type, ":dailyRollUp", body={
            "range": {"start": {"date": {"year": 2026, "month": 10, "day": 1}},
                      "end": {"date": {"year": 2026, "month": 11, "day": 23}}}})
        out.append((resp.status, resp.body))
    return out


def github_answers(login: str) -> list[Any]:
    route = github_api.routes(TODAY)[github_api.PREFIX]
    headers = {"Authorization": "Bearer demo-token", "Host": "127.0.0.1:1"}
    p = github_api.PREFIX

    def get(sub: str, query: dict[str, str]) -> DemoResponse:
        resp = _call(route, "GET", p + sub, p, query, headers=headers)
        resp.headers.pop("X-RateLimit-Reset", None)  # the real clock's hour
        return resp

    out: list[Any] = []
    resp = _call(route, "POST", p + "/graphql", p, body={
        "query": "query { user { contributionsCollection { x } } }",
        "variables": {"login": login, "from": "2026-09-01T00:00:00Z", "to": "2026-11-23T00:00:00Z"}}, headers=headers)
    out.append((resp.status, resp.body))
    commits = get("/search/commits", {"q": f"author:{login} author-date:2026-10-01..2026-11-22", "per_page": "100"})
    out.append((commits.status, commits.body, commits.headers))
    for q in (f"author:{login} type:pr created:2026-10-01..2026-11-22", f"reviewed-by:{login} type:pr "
              "updated:2026-10-01..2026-11-22", f"author:{login} type:issue created:2026-09-01..2026-11-22"):
        resp = get("/search/issues", {"q": q, "per_page": "100"})
        out.append((resp.status, resp.body, resp.headers))
        for item in (resp.body or {}).get("items", [])[:3]:
            if "pull_request" in item:
                repo = item["repository_url"].split("/repos/")[1]
                reviews = get(f"/repos/{repo}/pulls/{item['number']}/reviews", {})
                out.append((reviews.status, reviews.body))
    for item in (commits.body or {}).get("items", [])[:3]:
        detail = get(f"/repos/{item['repository']['full_name']}/commits/{item['sha']}", {})
        out.append((detail.status, detail.body))
    events = get(f"/users/{login}/events", {"per_page": "100"})
    out.append((events.status, events.body, events.headers))
    return out


def lastfm_answers(user: str) -> list[Any]:
    route = lastfm_api.routes(TODAY)["/lastfm/2.0"]
    out = []
    for page in ("1", "2"):
        query = {"method": "user.getrecenttracks", "user": user, "api_key": "demo-key", "format": "json",
                 "limit": "200", "page": page, "from": str(int(datetime(2026, 10, 1).timestamp())),
                 "to": str(int(datetime(2026, 11, 22).timestamp()))}
        resp = _call(route, "GET", "/lastfm/2.0/", "/lastfm/2.0", query)
        out.append((resp.status, resp.body))
    return out


def default_person_fingerprint() -> str:
    token_route = google_health_api.routes(TODAY)[google_health_api.TOKEN]
    refresh = _call(token_route, "POST", google_health_api.TOKEN, google_health_api.TOKEN, body=urlencode(
        {"grant_type": "refresh_token", "client_id": "demo-client-id", "refresh_token": "demo-refresh"}).encode())
    answers = [(refresh.status, refresh.body), google_answers("demo-access-1"), google_answers("demo-access-token"),
               github_answers("demo-user"), lastfm_answers("demo-user")]
    return hashlib.sha256(json.dumps(answers, sort_keys=True, default=str).encode()).hexdigest()


def test_the_existing_demo_person_gets_exactly_what_they_got_before():
    assert default_person_fingerprint() == DEFAULT_FINGERPRINT


def _token(grant: dict[str, str]) -> DemoResponse:
    route = google_health_api.routes(TODAY)[google_health_api.TOKEN]
    return _call(route, "POST", google_health_api.TOKEN, google_health_api.TOKEN,
                 body=urlencode({"client_id": "demo-client-id", **grant}).encode())


def test_a_keyed_refresh_token_is_bound_to_its_person_and_revoked_ones_are_refused():
    assert _token({"grant_type": "refresh_token", "refresh_token": "demo-refresh-p01"}).body["access_token"] \
        .startswith("demo-access-p01-")
    assert re.fullmatch(r"demo-access-\d+", _token({"grant_type": "refresh_token", "refresh_token": "demo-refresh"})
                        .body["access_token"])  # the demo person's shape, unchanged
    for revoked in ("revoked", "demo-revoked-p03"):
        resp = _token({"grant_type": "refresh_token", "refresh_token": revoked})
        assert (resp.status, resp.body["error"]) == (400, "invalid_grant")
    # an interactive sign-in's refresh token is not a key: it reads the demo person
    signed_in = _token({"grant_type": "authorization_code", "code": "abc", "redirect_uri": "http://127.0.0.1:1/",
                        "code_verifier": "v" * 43}).body["refresh_token"]
    assert signed_in.startswith("demo-refresh-code-")
    assert not google_health_api._KEYED_REFRESH.fullmatch(signed_in)


def _points(token: str, data_type: str) -> list[dict]:
    route = google_health_api.routes(TODAY)[google_health_api.DATA]
    resp = _google(route, token, data_type, query={"filter": LISTS[data_type]})
    assert resp.status == 200, resp.body
    return resp.body.get("dataPoints", [])


def test_every_key_is_its_own_deterministic_plausible_person():
    people = {token: {t: _points(token, t) for t in ("daily-resting-heart-rate", "sleep", "exercise", "steps")}
              for token in ("demo-access-1", "demo-access-p01-7", "demo-access-p02-8", "demo-access-p01-9")}
    default, p01, p02, p01_again = people.values()
    assert p01 == p01_again  # the key decides, not the token's number
    assert p01 != default and p02 != default and p01 != p02
    for person in (p01, p02):
        rhr = [int(p["dailyRestingHeartRate"]["beatsPerMinute"]) for p in person["daily-resting-heart-rate"]]
        assert 44 <= min(rhr) and max(rhr) <= 80, rhr
        nights = [int(p["sleep"]["summary"]["minutesInSleepPeriod"]) for p in person["sleep"]
                  if not p["sleep"]["metadata"].get("nap")]
        assert len(nights) >= 20 and 200 <= min(nights) and max(nights) <= 660, nights
        assert all(p["name"].startswith("users/") for p in person["sleep"] + person["exercise"])
        assert 0 < sum(int(p["steps"]["count"]) for p in person["steps"])
    own = [p["name"].split("/")[1] for p in p01["sleep"]]
    assert set(own) != {"4815162342"}  # the variant's own user id in data point names


def test_github_and_lastfm_serve_seeded_variants_of_the_demo_user():
    default, p01 = github_answers("demo-user"), github_answers("demo-user-p01")
    assert all(a[0] == 200 for a in p01), [a[0] for a in p01]
    commits = p01[1][1]["items"]
    assert commits and {c["repository"]["full_name"].split("/")[0] for c in commits} <= {"acme-p01", "demo-user-p01"}
    assert all(c["author"]["login"] == "demo-user-p01" for c in commits)
    assert p01[1] != default[1]
    assert github_answers("demo-user-p01")[1] == p01[1]
    nobody = github_answers("nobody")
    assert nobody[0][1]["data"]["user"] is None and nobody[1][0] == 422
    fm_default, fm_p01 = lastfm_answers("demo-user"), lastfm_answers("demo-user-p01")
    assert fm_p01[0][1]["recenttracks"]["@attr"]["user"] == "demo-user-p01"
    assert fm_p01[0][1]["recenttracks"]["track"] != fm_default[0][1]["recenttracks"]["track"]
    assert lastfm_answers("someone-else")[0][0] == 404


def test_busiest_window_slides_over_whole_seconds():
    from tracker.demo.server import busiest

    seconds = {100: 3, 101: 4, 103: 5, 160: 1, 161: 9}
    assert busiest(seconds, 1) == (9, 161)
    assert busiest(seconds, 3) == (10, 160)  # 159..161 beats 101..103 (9)
    assert busiest(seconds, 60) == (15, 103)  # 102..161: 100 and 101 are 60 s or more before 161
    assert busiest(seconds, 62) == (22, 100)
    assert busiest({}, 60) == (0, None)


@pytest.fixture
def demo():
    server, base = serve_in_thread(routes=default_routes(today=TODAY))
    yield base
    server.shutdown()
    server.server_close()


def test_the_demo_server_counts_requests_per_api_subject_and_second(demo):
    def health(token: str) -> None:
        requests.get(f"{demo}{GH}/daily-resting-heart-rate/dataPoints", timeout=10,
                     params={"filter": LISTS["daily-resting-heart-rate"]}, headers={"Authorization": f"Bearer {token}"})

    before = datetime.now().timestamp()
    for token in ("demo-access-p01-1", "demo-access-p01-2", "demo-access-p02-3", "demo-access-4", "bad-token"):
        health(token)
    requests.get(f"{demo}/lastfm/2.0/", params={"method": "user.getrecenttracks", "user": "demo-user-p01",
                                                "api_key": "k", "from": "1700000000", "to": "1700003600"}, timeout=10)
    counts = requests.get(f"{demo}/_demo/requests", params={"api": "google_health", "window": "5"}, timeout=10).json()
    subjects = counts["subjects"]
    assert counts["api"] == "google_health" and counts["window_seconds"] == 5
    assert {k: v["total"] for k, v in subjects.items()} == {"p01": 2, "p02": 1, "(default)": 2}
    p01 = subjects["p01"]
    assert p01["busiest_60s"] == p01["busiest_window"] == 2
    assert sum(p01["per_second"].values()) == 2
    assert all(before - 1 <= int(s) <= datetime.now().timestamp() for s in p01["per_second"])
    everything = requests.get(f"{demo}/_demo/requests", timeout=10).json()["apis"]
    assert everything["lastfm"]["subjects"]["demo-user-p01"]["total"] == 1
    # DELETE clears one API (or all)
    assert requests.delete(f"{demo}/_demo/requests", params={"api": "google_health"}, timeout=10).ok
    assert requests.get(f"{demo}/_demo/requests", params={"api": "google_health"}, timeout=10).json()["subjects"] == {}
    assert requests.get(f"{demo}/_demo/requests", params={"reset": "1"}, timeout=10).ok
    assert requests.get(f"{demo}/_demo/requests", timeout=10).json()["apis"] == {}


def test_a_backfills_long_range_is_paged_to_the_same_points_as_short_ranges():
    """Over 120 days the demo pages by a cursor (generating only each page's days): the same points, in the
    same order, as the cached listing of shorter ranges gives — and the client needs one request per 10,000."""
    from datetime import UTC

    from tracker.http import HttpClient
    from tracker.sources.google_health.client import GoogleHealthClient, RateLimiter

    # heart rate over 123 days (the route itself: no HTTP, no JSON): 177,120 samples in 18 pages of up to 10,000,
    # then the final `{}`, newest first, each once
    route, pages, times, page_token = google_health_api.routes(TODAY)[google_health_api.DATA], 0, [], ""
    expression = ('heart_rate.sample_time.physical_time >= "2026-05-01T00:00:00Z" AND '
                  'heart_rate.sample_time.physical_time < "2026-09-01T00:00:00Z"')
    while True:
        pages += 1
        body = _google(route, "demo-access-p01-1", "heart-rate", query={
            "filter": expression, "pageSize": "10000", **({"pageToken": page_token} if page_token else {})}).body
        times += [p["heartRate"]["sampleTime"]["physicalTime"] for p in body.get("dataPoints", [])]
        if not (page_token := body.get("nextPageToken")):
            break
    assert len(times) == len(set(times)) == 123 * 24 * 60 and times == sorted(times, reverse=True)
    assert pages == 19
    server, base = serve_in_thread(routes=google_health_api.routes(TODAY))
    try:
        client = GoogleHealthClient(f"{base}/google-health", token_provider=lambda: "demo-access-p01-1",
                                    http=HttpClient(max_retries=0), limiter=RateLimiter(10**9, burst=10**6))
        a, b, c = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC),
                   datetime(2026, 9, 1, tzinfo=UTC))
        for data_type in ("sleep", "steps", "exercise"):
            whole = list(client.list_raw_data_points(data_type, a, c))
            parts = list(client.list_raw_data_points(data_type, b, c)) + list(client.list_raw_data_points(
                data_type, a, b))
            assert whole == parts and len(whole) > 20, data_type
        whole = list(client.list_raw_data_points("daily-resting-heart-rate", a.date(), c.date()))
        assert len(whole) == (c - a).days
    finally:
        server.shutdown()
        server.server_close()
