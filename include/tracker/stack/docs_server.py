"""The dbt docs site behind the stack's login: HTTP basic auth, user `tracker` and the Airflow admin password
(read from the private secrets file, never from the command line). Anonymous requests get 401."""

from __future__ import annotations

import argparse
import base64
import functools
import hmac
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tracker import settings as s


class DocsHandler(SimpleHTTPRequestHandler):
    """Static files of the dbt target folder, for the one login only."""

    credentials = b""

    def _allowed(self) -> bool:
        header = self.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            given = base64.b64decode(value, validate=True)
        except ValueError:
            return False
        return hmac.compare_digest(given, self.credentials)

    def _refuse(self) -> None:
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="tracker dbt docs", charset="UTF-8"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self._allowed():
            super().do_GET()
        else:
            self._refuse()

    def do_HEAD(self) -> None:  # noqa: N802
        if self._allowed():
            super().do_HEAD()
        else:
            self._refuse()


def make_server(host: str, port: int, directory: Path, password: str) -> ThreadingHTTPServer:
    handler = type("Handler", (DocsHandler,), {"credentials": f"{s.AIRFLOW_USER}:{password}".encode()})
    return ThreadingHTTPServer((host, port), functools.partial(handler, directory=str(directory)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bind", default=s.HOST)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--directory", type=Path, required=True)
    parser.add_argument("--state", type=Path, help="folder of secrets.json (default: the state folder)")
    args = parser.parse_args()
    password = s.Secrets.load_or_create(args.state).airflow_admin_password
    make_server(args.bind, args.port, args.directory, password).serve_forever()


if __name__ == "__main__":
    main()
