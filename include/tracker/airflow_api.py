"""A small client for Airflow's REST API v2 (token login, DAG runs, backfills, Asset events), used by
`tracker demo`, `tracker backfill` and the imports."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import requests


class RunConflict(RuntimeError):
    """A DAG already has a run at the logical date asked for, for another interval."""


class AirflowUnavailable(RuntimeError):
    """Nothing answers at the API server's URL (the stack is not up)."""


class AirflowRefused(RuntimeError):
    """The API server answered with an error; `status` is its HTTP status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class AirflowApi:
    def __init__(self, base_url: str, username: str, password: str, timeout: float = 30) -> None:
        self.base_url, self.timeout = base_url.rstrip("/"), timeout
        self.session = requests.Session()
        try:
            response = self.session.post(f"{self.base_url}/auth/token",
                                         json={"username": username, "password": password}, timeout=timeout)
        except requests.ConnectionError as exc:
            raise AirflowUnavailable(f"Airflow is not reachable at {self.base_url}") from exc
        if not response.ok:  # the body is not shown: a validation error echoes the password sent
            raise AirflowRefused(f"Airflow at {self.base_url} refused the login of {username!r} "
                                 f"(HTTP {response.status_code})", response.status_code)
        self.session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    @classmethod
    def for_stack(cls, timeout: float = 30) -> AirflowApi:
        """The local stack's API server, logged in as its admin (password from the state's secrets.json)."""
        from tracker import settings as s

        return cls(s.airflow_url(), s.AIRFLOW_USER, s.Secrets.load_or_create().airflow_admin_password, timeout)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.session.request(method, f"{self.base_url}/api/v2{path}", timeout=self.timeout,
                                            **kwargs)
        except requests.ConnectionError as exc:
            raise AirflowUnavailable(f"Airflow is not reachable at {self.base_url}") from exc
        if not response.ok:
            raise AirflowRefused(f"Airflow {method} {path}: HTTP {response.status_code} {_detail(response)}",
                                 response.status_code)
        return response.json() if response.content else None

    def wait_for_dag(self, dag_id: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            response = self.session.get(f"{self.base_url}/api/v2/dags/{dag_id}", timeout=self.timeout)
            if response.ok:
                return
            time.sleep(2)
        errors = self._call("GET", "/importErrors").get("import_errors", [])
        raise RuntimeError(f"DAG {dag_id} was not parsed within {timeout:.0f}s; import errors: {errors}")

    def unpause(self, dag_id: str, paused: bool = False) -> None:
        self._call("PATCH", f"/dags/{dag_id}", json={"is_paused": paused})

    def trigger(self, dag_id: str, start: datetime, end: datetime, run_id: str | None = None, *,
                replace_prefix: str | None = None) -> str:
        """Run dag_id for the data interval [start, end); the same interval again re-runs (clears) that run.

        Airflow keeps a given interval only when a logical date is set too; `end` is used, since a scheduled
        run of a daily DAG never has the logical date of a multi-day interval's end on the same day. A run at
        that logical date for another interval is deleted and replaced when its id starts with
        `replace_prefix` (the demo's own runs: deleting a run removes Airflow's record of it, never warehouse
        rows); any other such run raises `RunConflict` saying what to do.
        """
        body = {"logical_date": end.isoformat(), "data_interval_start": start.isoformat(),
                "data_interval_end": end.isoformat(), "note": "triggered by tracker demo"}
        if run_id:
            body["dag_run_id"] = run_id
        for _ in range(2):
            response = self.session.post(f"{self.base_url}/api/v2/dags/{dag_id}/dagRuns", json=body,
                                         timeout=self.timeout)
            if response.status_code != 409:
                if not response.ok:
                    raise RuntimeError(f"Airflow trigger {dag_id}: HTTP {response.status_code} {response.text[:300]}")
                return response.json()["dag_run_id"]
            same = self._call("GET", f"/dags/{dag_id}/dagRuns", params={
                "logical_date_gte": end.isoformat(), "logical_date_lte": end.isoformat()})["dag_runs"]
            if not same:
                break
            existing = same[0]["dag_run_id"]
            if datetime.fromisoformat(same[0]["data_interval_start"]) == start:
                self._call("POST", f"/dags/{dag_id}/dagRuns/{existing}/clear", json={"dry_run": False})
                return existing
            if not (replace_prefix and existing.startswith(replace_prefix)):
                raise RunConflict(
                    f"{dag_id} already has run {existing!r} at logical date {end:%Y-%m-%d %H:%M} for the interval "
                    f"from {same[0]['data_interval_start']}: delete that run in the Airflow UI (Browse → DAG Runs) "
                    "or choose another window")
            self._call("DELETE", f"/dags/{dag_id}/dagRuns/{existing}")
        raise RunConflict(f"{dag_id}: Airflow refused a run at logical date {end.isoformat()} (HTTP 409)")

    def trigger_now(self, dag_id: str, note: str = "triggered by tracker demo", conf: dict | None = None) -> str:
        """A manual run without a logical date (for asset-scheduled DAGs such as dbt_warehouse)."""
        body = {"logical_date": None, "note": note, **({"conf": conf} if conf else {})}
        return self._call("POST", f"/dags/{dag_id}/dagRuns", json=body)["dag_run_id"]

    def runs(self, dag_id: str, limit: int = 50) -> list[dict]:
        return self._call("GET", f"/dags/{dag_id}/dagRuns", params={"order_by": "-run_after", "limit": limit})[
            "dag_runs"]

    def run(self, dag_id: str, run_id: str) -> dict:
        """One run's details (state, start_date, end_date, …)."""
        return self._call("GET", f"/dags/{dag_id}/dagRuns/{run_id}")

    def run_seconds(self, dag_id: str, run_id: str) -> float | None:
        """How long a finished run took (its start to its end, as Airflow recorded them)."""
        run = self.run(dag_id, run_id)
        if not (run.get("start_date") and run.get("end_date")):
            return None
        return (datetime.fromisoformat(run["end_date"]) - datetime.fromisoformat(run["start_date"])).total_seconds()

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 600) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self._call("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"]
            if state in ("success", "failed"):
                return state
            time.sleep(3)
        raise TimeoutError(f"{dag_id} run {run_id} did not finish within {timeout:.0f}s")

    def wait_until_idle(self, dag_id: str, timeout: float = 600) -> None:
        """Wait until no run of dag_id is queued or running."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(r["state"] in ("success", "failed") for r in self.runs(dag_id)):
                return
            time.sleep(3)
        raise TimeoutError(f"{dag_id} still has unfinished runs after {timeout:.0f}s")

    def dag(self, dag_id: str) -> dict:
        """The DAG's details (GET /dags/{dag_id}: is_paused, …)."""
        return self._call("GET", f"/dags/{dag_id}")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        """Every task instance of a run (a mapped task's instances each: map_index, rendered_map_index, state)."""
        found: list[dict] = []
        while True:
            page = self._call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances",
                              params={"limit": 100, "offset": len(found)})
            found += page["task_instances"]
            if not page["task_instances"] or len(found) >= page["total_entries"]:
                return found

    def failure_reason(self, dag_id: str, run_id: str, ti: dict) -> str:
        """Why a task instance failed, from its last try's log: the failure notifier's line (`tracker task
        failed: … error=…`, its error part), else the last error line; '' when the log says nothing."""
        try:
            log = self._call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{ti['task_id']}/logs/"
                             f"{max(1, ti.get('try_number') or 1)}",
                             params={"map_index": ti.get("map_index", -1), "full_content": "true"},
                             headers={"Accept": "application/json"})
        except AirflowRefused:
            return ""
        events = [e.get("event", "") if isinstance(e, dict) else str(e) for e in (log or {}).get("content", [])]
        for event in reversed(events):
            if event.startswith("tracker task failed:") and " error=" in event:
                return event.split(" error=", 1)[1].strip()
        errors = [e for e, raw in zip(events, (log or {}).get("content", []), strict=True)
                  if isinstance(raw, dict) and raw.get("level") in ("error", "critical")]
        return errors[-1].strip() if errors else ""

    def dag_ids(self) -> list[str]:
        """Every DAG the API server knows, sorted."""
        ids: list[str] = []
        while True:
            page = self._call("GET", "/dags", params={"limit": 100, "offset": len(ids), "order_by": "dag_id"})
            ids += [d["dag_id"] for d in page["dags"]]
            if not page["dags"] or len(ids) >= page["total_entries"]:
                return sorted(ids)

    def _backfill_body(self, dag_id: str, from_date: datetime, to_date: datetime, max_active_runs: int,
                       reprocess: str) -> dict:
        return {"dag_id": dag_id, "from_date": from_date.isoformat(), "to_date": to_date.isoformat(),
                "reprocess_behavior": reprocess, "max_active_runs": max_active_runs, "run_backwards": False}

    def backfill_dry_run(self, dag_id: str, from_date: datetime, to_date: datetime, max_active_runs: int = 2,
                         reprocess: str = "completed") -> list[datetime]:
        """The logical dates a backfill would run (POST /backfills/dry_run)."""
        body = self._backfill_body(dag_id, from_date, to_date, max_active_runs, reprocess)
        runs = self._call("POST", "/backfills/dry_run", json=body)["backfills"]
        return [datetime.fromisoformat(r["logical_date"]) for r in runs if r.get("logical_date")]

    def backfill(self, dag_id: str, from_date: datetime, to_date: datetime, max_active_runs: int = 2,
                 reprocess: str = "completed") -> dict:
        """Create a backfill (POST /backfills): one run per logical date in [from_date, to_date]."""
        return self._call("POST", "/backfills",
                          json=self._backfill_body(dag_id, from_date, to_date, max_active_runs, reprocess))

    def get_backfill(self, backfill_id: int) -> dict:
        return self._call("GET", f"/backfills/{backfill_id}")

    def runs_between(self, dag_id: str, first: datetime, last: datetime) -> list[dict]:
        """The runs of dag_id whose logical date is in [first, last] (backfill runs and re-run ones alike)."""
        runs: list[dict] = []
        while True:
            page = self._call("GET", f"/dags/{dag_id}/dagRuns", params={
                "logical_date_gte": first.isoformat(), "logical_date_lte": last.isoformat(),
                "order_by": "logical_date", "limit": 100, "offset": len(runs)})
            runs += page["dag_runs"]
            if not page["dag_runs"] or len(runs) >= page["total_entries"]:
                return runs

    def asset_ids(self, names: list[str]) -> dict[str, int]:
        """Asset name → id for the names Airflow knows (an Asset exists once a parsed DAG uses it)."""
        found: dict[str, int] = {}
        for name in names:
            # name_pattern is a LIKE search ("_" matches any character): keep the exact name only
            page = self._call("GET", "/assets", params={"name_pattern": name, "limit": 100})
            found.update({a["name"]: a["id"] for a in page["assets"] if a["name"] == name})
        return found

    def post_asset_event(self, asset_id: int, extra: dict | None = None) -> dict:
        """An Asset event (POST /assets/events): DAGs scheduled on the Asset run as if a task had updated it."""
        return self._call("POST", "/assets/events", json={"asset_id": asset_id, "extra": extra or {}})


def _detail(response: requests.Response) -> str:
    """The `detail` of an API error (FastAPI's shape), else the start of the body."""
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        detail = response.text
    return str(detail)[:300]
