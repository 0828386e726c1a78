"""A small HTTP server that behaves like Airflow 3's REST API v2 for what the CLI calls (token login, DAGs,
backfills, DAG runs, Assets and Asset events), and the test that keeps it honest: every route, query parameter
and body field it serves is in Airflow's own OpenAPI description (the installed airflow-core's
v2-rest-api-generated.yaml). A whole Airflow stack is ≈ 1 GB and a minute to start; the e2e test covers that.

Runs move on by themselves: each listing of DAG runs is one scheduler "tick" (queued → running → success, or
failed for the logical dates in `fail_dates`), `max_active_runs` at a time.
"""

from __future__ import annotations

import json
import re
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import yaml

TOKEN = "fake-airflow-token"


class FakeAirflow:
    def __init__(self, password: str, dags: dict[str, bool], assets: list[str] = (), user: str = "tracker") -> None:
        self.user, self.password = user, password
        self.dags = {d: {"dag_id": d, "is_paused": paused} for d, paused in dags.items()}
        self.assets = [{"id": i + 1, "name": n, "uri": f"postgres://warehouse:5432/warehouse/{n.replace('.', '/')}",
                        "group": "raw"} for i, n in enumerate(assets)]
        self.events: list[dict] = []
        self.backfills: dict[int, dict] = {}
        self.runs: dict[str, list[dict]] = {d: [] for d in dags}
        self.fail_dates: set[datetime] = set()
        self.peak_running: dict[str, int] = dict.fromkeys(dags, 0)  # most runs of a DAG running at once
        self.calls: list[tuple[str, str, dict]] = []  # (method, path, query or body)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self.server.server_address[1]
        self.lock = threading.Lock()

    def __enter__(self) -> FakeAirflow:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    # ---- behaviour --------------------------------------------------------------------------------------
    def _planned(self, body: dict) -> list[datetime]:
        first = datetime.fromisoformat(body["from_date"]).astimezone(UTC)
        last = datetime.fromisoformat(body["to_date"]).astimezone(UTC)
        day = first.replace(hour=0, minute=0, second=0, microsecond=0)
        day += timedelta(days=1) if day < first else timedelta(0)
        dates = []
        while day <= last:
            existing = self._run_at(body["dag_id"], day)
            behaviour = body.get("reprocess_behavior", "none")
            if existing is None or behaviour == "completed" or (behaviour == "failed"
                                                                  and existing["state"] == "failed"):
                dates.append(day)
            day += timedelta(days=1)
        return dates

    def _run_at(self, dag_id: str, when: datetime) -> dict | None:
        return next((r for r in self.runs[dag_id] if r["logical_date"] == when.isoformat()), None)

    def _tick(self, dag_id: str) -> None:
        for backfill in self.backfills.values():
            if backfill["dag_id"] != dag_id or backfill["completed_at"]:
                continue
            runs = [self._run_at(dag_id, datetime.fromisoformat(d)) for d in backfill["_dates"]]
            for run in runs:
                if run["state"] == "running":
                    failed = datetime.fromisoformat(run["logical_date"]) in self.fail_dates
                    run["state"] = "failed" if failed else "success"
            active = sum(r["state"] == "running" for r in runs)
            for run in runs:
                if run["state"] == "queued" and active < backfill["max_active_runs"]:
                    run["state"], active = "running", active + 1
            self.peak_running[dag_id] = max(self.peak_running[dag_id], active)
            if all(r["state"] in ("success", "failed") for r in runs):
                backfill["completed_at"] = datetime.now(UTC).isoformat()

    def _route(self, method: str, path: str, query: dict, body: dict) -> tuple[int, dict]:
        if m := re.fullmatch(r"/api/v2/dags/([^/]+)", path):
            dag = self.dags.get(m[1])
            if dag is None:
                return 404, {"detail": f"The Dag with ID: `{m[1]}` was not found"}
            if method == "PATCH":
                dag["is_paused"] = bool(body["is_paused"])
            return 200, dag
        if path == "/api/v2/dags" and method == "GET":
            limit, offset = int(query.get("limit", 50)), int(query.get("offset", 0))
            dags = sorted(self.dags.values(), key=lambda d: d["dag_id"])
            return 200, {"dags": dags[offset:offset + limit], "total_entries": len(dags)}
        if path == "/api/v2/backfills/dry_run" and method == "POST":
            if body["dag_id"] not in self.dags:
                return 404, {"detail": f"Could not find dag {body['dag_id']}"}
            dates = self._planned(body)
            return 200, {"backfills": [{"logical_date": d.isoformat(), "partition_key": None,
                                        "partition_date": None} for d in dates], "total_entries": len(dates)}
        if path == "/api/v2/backfills" and method == "POST":
            if body["dag_id"] not in self.dags:
                return 404, {"detail": f"Could not find dag {body['dag_id']}"}
            if any(b["dag_id"] == body["dag_id"] and not b["completed_at"] for b in self.backfills.values()):
                return 409, {"detail": f"There is already a running backfill for dag {body['dag_id']}"}
            dates = self._planned(body)
            if not dates:
                return 422, {"detail": "No runs to create for the given backfill parameters."}
            backfill_id = len(self.backfills) + 1
            for day in dates:
                run = self._run_at(body["dag_id"], day)
                if run is None:
                    self.runs[body["dag_id"]].append({
                        "dag_run_id": f"backfill__{day.isoformat()}", "dag_id": body["dag_id"],
                        "logical_date": day.isoformat(), "run_type": "backfill", "state": "queued"})
                else:
                    run["state"] = "queued"  # reprocessed: cleared
            self.backfills[backfill_id] = {
                "id": backfill_id, "dag_id": body["dag_id"], "from_date": body["from_date"],
                "to_date": body["to_date"], "dag_run_conf": None, "is_paused": False,
                "reprocess_behavior": body.get("reprocess_behavior", "none"),
                "max_active_runs": body.get("max_active_runs", 10), "created_at": datetime.now(UTC).isoformat(),
                "completed_at": None, "updated_at": datetime.now(UTC).isoformat(), "dag_display_name": body["dag_id"],
                "_dates": [d.isoformat() for d in dates]}
            return 200, self._public(self.backfills[backfill_id])
        if (m := re.fullmatch(r"/api/v2/backfills/(\d+)", path)) and method == "GET":
            backfill = self.backfills.get(int(m[1]))
            return (200, self._public(backfill)) if backfill else (404, {"detail": "Backfill not found"})
        if (m := re.fullmatch(r"/api/v2/dags/([^/]+)/dagRuns", path)) and method == "GET":
            self._tick(m[1])
            runs = sorted(self.runs.get(m[1], []), key=lambda r: r["logical_date"])
            if "logical_date_gte" in query:
                runs = [r for r in runs if r["logical_date"] >= _utc(query["logical_date_gte"])]
            if "logical_date_lte" in query:
                runs = [r for r in runs if r["logical_date"] <= _utc(query["logical_date_lte"])]
            limit, offset = int(query.get("limit", 50)), int(query.get("offset", 0))
            return 200, {"dag_runs": runs[offset:offset + limit], "total_entries": len(runs)}
        if path == "/api/v2/assets" and method == "GET":
            like = re.compile(".*" + re.escape(query.get("name_pattern", "")).replace("_", ".") + ".*")
            assets = [a for a in self.assets if like.fullmatch(a["name"])]
            return 200, {"assets": assets, "total_entries": len(assets)}
        if path == "/api/v2/assets/events" and method == "POST":
            asset = next((a for a in self.assets if a["id"] == body["asset_id"]), None)
            if asset is None:
                return 404, {"detail": f"Asset with ID: `{body['asset_id']}` was not found"}
            event = {"id": len(self.events) + 1, "asset_id": asset["id"], "uri": asset["uri"],
                     "name": asset["name"], "extra": {**body.get("extra", {}), "from_rest_api": True},
                     "timestamp": datetime.now(UTC).isoformat()}
            self.events.append(event)
            return 200, event
        return 404, {"detail": "Not Found"}

    @staticmethod
    def _public(backfill: dict) -> dict:
        return {k: v for k, v in backfill.items() if not k.startswith("_")}

    def _handler(self):  # noqa: ANN202
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _answer(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _serve(self, method: str) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length)) if length else {}
                query = {k: v[-1] for k, v in parse_qs(url.query).items()}
                with fake.lock:
                    fake.calls.append((method, url.path, query if method == "GET" else body))
                    if url.path == "/auth/token" and method == "POST":
                        if body.get("username") == fake.user and body.get("password") == fake.password:
                            return self._answer(201, {"access_token": TOKEN})
                        return self._answer(401, {"detail": "Invalid credentials"})
                    if self.headers.get("authorization") != f"Bearer {TOKEN}":
                        return self._answer(401, {"detail": "Not authenticated"})
                    self._answer(*fake._route(method, url.path, query, body))

            def do_GET(self) -> None:  # noqa: N802
                self._serve("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._serve("POST")

            def do_PATCH(self) -> None:  # noqa: N802
                self._serve("PATCH")

        return Handler


def _utc(value: str) -> str:
    return datetime.fromisoformat(value).astimezone(UTC).isoformat()


# ---- the fake against Airflow's own API description ---------------------------------------------------------


def airflow_openapi() -> dict:
    import airflow

    spec = Path(airflow.__file__).parent / "api_fastapi" / "core_api" / "openapi" / "v2-rest-api-generated.yaml"
    return yaml.safe_load(spec.read_text())


def _template(path: str, spec_paths: dict) -> str | None:
    if path in spec_paths:
        return path
    for template in spec_paths:
        if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), path):
            return template
    return None


def _body_fields(spec: dict, operation: dict) -> set[str]:
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    return set(spec["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"])


def test_what_the_cli_sends_is_in_airflows_openapi(pg):
    """Drive every client call against the fake, then check each request it saw against Airflow's spec."""
    from tracker import settings
    from tracker.airflow_api import AirflowApi

    spec = airflow_openapi()
    password = settings.Secrets.load_or_create().airflow_admin_password
    with FakeAirflow(password, {"weather_open_meteo": True}, ["raw.netflix__viewing_activity"]) as fake:
        api = AirflowApi(f"http://127.0.0.1:{fake.port}", "tracker", password)
        when = datetime(2026, 11, 10, tzinfo=UTC)
        api.dag_ids()
        api.dag("weather_open_meteo")
        api.unpause("weather_open_meteo")
        assert api.backfill_dry_run("weather_open_meteo", when, when + timedelta(days=1)) == [
            when, when + timedelta(days=1)]
        backfill = api.backfill("weather_open_meteo", when, when + timedelta(days=1))
        api.get_backfill(backfill["id"])
        api.runs_between("weather_open_meteo", when, when + timedelta(days=1))
        (asset_id,) = api.asset_ids(["raw.netflix__viewing_activity"]).values()
        api.post_asset_event(asset_id, {"rows": 1})
    for method, path, sent in fake.calls:
        if path == "/auth/token":  # the auth manager's route, not part of the v2 API description
            continue
        template = _template(path, spec["paths"])
        assert template, f"{path} is not in Airflow's API"
        operation = spec["paths"][template].get(method.lower())
        assert operation, f"{method} {template} is not in Airflow's API"
        if method == "GET":
            assert set(sent) <= {p["name"] for p in operation.get("parameters", [])}, (template, sent)
        else:
            assert set(sent) <= _body_fields(spec, operation), (template, sent)
    assert {(m, p) for m, p, _ in fake.calls} >= {("POST", "/api/v2/backfills/dry_run"),
                                                   ("POST", "/api/v2/assets/events")}
