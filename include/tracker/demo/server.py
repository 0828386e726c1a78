"""Demo API server (stdlib, loopback only) that impersonates the source APIs with deterministic data.

Routes are a table `{path_prefix: handler}`; a source adds its fake API by adding entries to
`default_routes`. Run: `python -m tracker.demo.server --port N` (binds 127.0.0.1 only).

Request counts, per API, per subject (whose quota a request spends) and per second of the server's clock —
what the real APIs count against their quotas, seen from their side. A route wrapped in `counted(api,
subject)` is counted before it answers (errors too, as a real API counts them):
- google_health: the person's account key from the bearer token `demo-access-<key>-<n>`, else "(default)"
  (the demo person); google_oauth: the key of the refresh token `demo-refresh-<key>` / `demo-revoked-<key>`;
- github: the login (from the query, GraphQL variables, path, or repo owner), else "token:<bearer token>";
- lastfm: the `user` parameter; trakt: "token:<bearer token>"; weather (Open-Meteo): the client's IP.

`GET /_demo/requests[?api=A][&window=W]` answers
  {"apis": {A: {"window_seconds": W, "subjects": {S: {"total": n, "busiest_60s": n, "busiest_60s_start": t,
   "busiest_window": n, "busiest_window_start": t, "first": t, "last": t, "per_second": {"<epoch s>": n}}}}}}
and, with `api=A`, that API's object at the top level as well (`{"api": A, "window_seconds": W, "subjects":
…}`). A window is W consecutive whole seconds (default 60); `t` is ISO UTC. `DELETE /_demo/requests[?api=A]`
(or `GET …?reset=1`) clears the counts (of one API). The counts are held in memory for 24 hours.
"""

from __future__ import annotations

import argparse
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tracker import settings
from tracker.demo import open_meteo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoRequest:
    method: str
    path: str
    subpath: str  # the part of `path` after the matched route prefix
    query: dict[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    client: str = ""  # the caller's IP address


@dataclass
class DemoResponse:
    status: int
    body: Any = None  # JSON-encoded unless already bytes
    headers: dict[str, str] = field(default_factory=dict)


Route = Callable[[DemoRequest], DemoResponse]
COUNTS = "/_demo/requests"
KEEP_SECONDS = 24 * 3600


def counted(api: str, subject: Callable[[DemoRequest], str]) -> Callable[[Route], Route]:
    """Mark a route as counted: each request to it adds one to (api, subject(request), this second)."""
    def mark(route: Route) -> Route:
        route.demo_counted = (api, subject)  # type: ignore[attr-defined]
        return route
    return mark


class RequestCounter:
    """Requests per (api, subject, whole second of the clock). Thread-safe; seconds older than a day drop."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._counts: dict[str, dict[str, dict[int, int]]] = {}
        self._lock = threading.Lock()

    def count(self, api: str, subject: str) -> None:
        second = int(self._clock())
        with self._lock:
            seconds = self._counts.setdefault(api, {}).setdefault(subject, {})
            seconds[second] = seconds.get(second, 0) + 1
            if len(seconds) > KEEP_SECONDS // 8 and min(seconds) < second - KEEP_SECONDS:
                for old in [s for s in seconds if s < second - KEEP_SECONDS]:
                    del seconds[old]

    def reset(self, api: str | None = None) -> None:
        with self._lock:
            if api is None:
                self._counts.clear()
            else:
                self._counts.pop(api, None)

    def per_second(self, api: str) -> dict[str, dict[int, int]]:
        with self._lock:
            return {subject: dict(seconds) for subject, seconds in self._counts.get(api, {}).items()}

    def report(self, api: str, window: int = 60) -> dict[str, Any]:
        subjects = {}
        for subject, seconds in sorted(self.per_second(api).items()):
            busiest_60, at_60 = busiest(seconds, 60)
            most, at = busiest(seconds, window)
            subjects[subject] = {"total": sum(seconds.values()), "busiest_60s": busiest_60,
                                 "busiest_60s_start": _iso(at_60), "busiest_window": most,
                                 "busiest_window_start": _iso(at), "first": _iso(min(seconds)),
                                 "last": _iso(max(seconds)),
                                 "per_second": {str(s): n for s, n in sorted(seconds.items())}}
        return {"api": api, "window_seconds": window, "subjects": subjects}

    def apis(self) -> list[str]:
        with self._lock:
            return sorted(self._counts)


def busiest(seconds: Mapping[int, int], window: int) -> tuple[int, int | None]:
    """The most requests in `window` consecutive whole seconds, and the first of those seconds."""
    ordered = sorted(seconds.items())
    most, start, total, lo = 0, None, 0, 0
    for second, n in ordered:
        total += n
        while ordered[lo][0] <= second - window:
            total -= ordered[lo][1]
            lo += 1
        if total > most:
            most, start = total, ordered[lo][0]
    return most, start


def _iso(second: int | None) -> str | None:
    return None if second is None else datetime.fromtimestamp(second, UTC).isoformat().replace("+00:00", "Z")


def counts_route(counter: RequestCounter) -> Route:
    """`/_demo/requests`: GET the counts (`api`, `window`), DELETE or `reset=1` to clear them."""
    def route(req: DemoRequest) -> DemoResponse:
        api = req.query.get("api", [""])[0] or None
        if req.method == "DELETE" or req.query.get("reset", [""])[0] in ("1", "true"):
            counter.reset(api)
            return DemoResponse(200, {"reset": api or "all"})
        try:
            window = int(req.query.get("window", ["60"])[0])
            if window < 1:
                raise ValueError
        except ValueError:
            return DemoResponse(400, {"error": True, "reason": "window must be a whole number of seconds >= 1"})
        names = [api] if api else counter.apis()
        body: dict[str, Any] = {"apis": {name: counter.report(name, window) for name in names}}
        if api:
            body |= body["apis"][api]
        return DemoResponse(200, body)
    return route


def _health(_: DemoRequest) -> DemoResponse:
    return DemoResponse(200, {"status": "ok"})


def open_meteo_routes(today: date | None = None) -> dict[str, Route]:
    """Open-Meteo's archive and forecast APIs; `today` pins the demo's clock (default: the real date)."""
    @counted("weather", _client_ip)
    def archive(req: DemoRequest) -> DemoResponse:
        return DemoResponse(*open_meteo.archive(req.query, today=today))

    @counted("weather", _client_ip)
    def forecast(req: DemoRequest) -> DemoResponse:
        return DemoResponse(*open_meteo.forecast(req.query, today=today))

    return {"/open-meteo/v1/archive": archive, "/open-meteo/v1/forecast": forecast}


def _client_ip(req: DemoRequest) -> str:
    return req.client or "unknown"


def default_routes(today: date | None = None) -> dict[str, Route]:
    """Open-Meteo plus every `tracker.demo.<source>_api` module's `routes(today)` (each source adds its own)."""
    import importlib
    import pkgutil

    import tracker.demo as demo_pkg

    routes: dict[str, Route] = {"/healthz": _health, **open_meteo_routes(today)}
    for module in pkgutil.iter_modules(demo_pkg.__path__):
        if module.name.endswith("_api"):
            routes.update(importlib.import_module(f"tracker.demo.{module.name}").routes(today))
    return routes


def _match(routes: Mapping[str, Route], path: str) -> tuple[str, Route] | None:
    for prefix in sorted(routes, key=len, reverse=True):
        base = prefix.rstrip("/")
        if path == base or path.startswith(base + "/"):
            return prefix, routes[prefix]
    return None


class _Handler(BaseHTTPRequestHandler):
    server_version = "TrackerDemo/0.1"
    routes: Mapping[str, Route] = {}

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        found = _match(self.routes, url.path)
        if found is None:
            return self._send(DemoResponse(404, {"error": True, "reason": f"no demo route for {url.path}"}))
        prefix, route = found
        length = int(self.headers.get("Content-Length") or 0)
        req = DemoRequest(self.command, url.path, url.path[len(prefix.rstrip("/")):],
                          parse_qs(url.query, keep_blank_values=True), dict(self.headers),
                          self.rfile.read(length) if length else b"", self.client_address[0])
        try:
            if (how := getattr(route, "demo_counted", None)) is not None:
                api, subject = how
                self.server.counter.count(api, subject(req))  # type: ignore[attr-defined]
            resp = route(req)
        except Exception:
            log.exception("demo route %s failed", prefix)
            resp = DemoResponse(500, {"error": True, "reason": "demo handler crashed"})
        self._send(resp)

    def _send(self, resp: DemoResponse) -> None:
        payload = resp.body if isinstance(resp.body, bytes) else json.dumps(
            resp.body, ensure_ascii=False, separators=(",", ":")).encode()  # compact, like the real APIs
        self.send_response(resp.status)
        headers = {"Content-Type": "application/json; charset=utf-8", **resp.headers}
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)


def make_server(port: int = 0, routes: Mapping[str, Route] | None = None) -> ThreadingHTTPServer:
    """A server bound to 127.0.0.1 (never all interfaces); port 0 picks a free port. `server.counter` holds
    its request counts, also served at `/_demo/requests`."""
    counter = RequestCounter()
    table = {**dict(routes or default_routes()), COUNTS: counts_route(counter)}
    handler = type("DemoHandler", (_Handler,), {"routes": table})
    server = ThreadingHTTPServer((settings.HOST, port), handler)
    server.daemon_threads = True
    server.counter = counter  # type: ignore[attr-defined]
    return server


def serve_in_thread(port: int = 0,
                    routes: Mapping[str, Route] | None = None) -> tuple[ThreadingHTTPServer, str]:
    """Start in a daemon thread; returns (server, base_url). Stop: shutdown() then server_close()."""
    server = make_server(port, routes)
    threading.Thread(target=server.serve_forever, name="demo-api", daemon=True).start()
    host, bound = server.server_address[:2]
    return server, f"http://{host}:{bound}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Tracker demo API server (127.0.0.1 only).")
    parser.add_argument("--port", type=int, default=settings.port("demo"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    server = make_server(args.port)
    host, bound = server.server_address[:2]
    routes = ", ".join(sorted(server.RequestHandlerClass.routes))
    print(f"demo API on http://{host}:{bound} (routes: {routes})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
