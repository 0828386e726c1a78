"""Demo API server (stdlib, loopback only) that impersonates the source APIs with deterministic data.

Routes are a table `{path_prefix: handler}`; a source adds its fake API by adding entries to
`default_routes`. Run: `python -m tracker.demo.server --port N` (binds 127.0.0.1 only).
"""

from __future__ import annotations

import argparse
import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
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


@dataclass
class DemoResponse:
    status: int
    body: Any = None  # JSON-encoded unless already bytes
    headers: dict[str, str] = field(default_factory=dict)


Route = Callable[[DemoRequest], DemoResponse]


def _health(_: DemoRequest) -> DemoResponse:
    return DemoResponse(200, {"status": "ok"})


def open_meteo_routes(today: date | None = None) -> dict[str, Route]:
    """Open-Meteo's archive and forecast APIs; `today` pins the demo's clock (default: the real date)."""
    def archive(req: DemoRequest) -> DemoResponse:
        return DemoResponse(*open_meteo.archive(req.query, today=today))

    def forecast(req: DemoRequest) -> DemoResponse:
        return DemoResponse(*open_meteo.forecast(req.query, today=today))

    return {"/open-meteo/v1/archive": archive, "/open-meteo/v1/forecast": forecast}


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

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        found = _match(self.routes, url.path)
        if found is None:
            return self._send(DemoResponse(404, {"error": True, "reason": f"no demo route for {url.path}"}))
        prefix, route = found
        length = int(self.headers.get("Content-Length") or 0)
        req = DemoRequest(self.command, url.path, url.path[len(prefix.rstrip("/")):],
                          parse_qs(url.query, keep_blank_values=True), dict(self.headers),
                          self.rfile.read(length) if length else b"")
        try:
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
    """A server bound to 127.0.0.1 (never all interfaces); port 0 picks a free port."""
    handler = type("DemoHandler", (_Handler,), {"routes": dict(routes or default_routes())})
    server = ThreadingHTTPServer((settings.HOST, port), handler)
    server.daemon_threads = True
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
