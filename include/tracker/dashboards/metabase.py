"""Provision an open-source Metabase from the dashboard definitions through its REST API, idempotently.

One sync: the first-user setup with the setup token when Metabase is new (`GET /api/session/properties` →
`POST /api/setup`; the open-source edition has no `config.yml` provisioning), else a session
(`POST /api/session`); the warehouse as the read-only `analyst` role (`/api/database`); a collection
(`/api/collection`); one native-SQL card per analyst question (`/api/card`, `{{person}}` as a text template tag)
and one dashboard per definition (`/api/dashboard`, `PUT /api/dashboard/:id` with its dashcards and a
Person filter wired to every card). Then the dbt docs' table and column descriptions through dbt-metabase
(`export_models`, gold only).

What we made is found again by a marker in its description (`tracker: <dashboard>/<question>`), so a renamed
title updates the same card; anything is written only when it differs from the definition, so a second sync
changes nothing; a card whose question was removed is archived (Metabase keeps it in its trash), never
deleted. Questions reading raw or Airflow's database are skipped: Metabase has only the analyst's login.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from tracker.dashboards.definitions import PARAMETER, Dashboard, Question

DATABASE_NAME = "Tracker warehouse (analyst)"
COLLECTION_NAME = "Tracker"
PERSON_PARAMETER = "tracker_person"
GRID_WIDTH = 24  # Metabase's dashboard grid
MARKER = re.compile(r"\(tracker: ([a-z0-9_]+(?:/[a-z0-9_]+)?)\)\s*$")
DISPLAY = {"line": "line", "bar": "bar", "area": "area", "point": "scatter", "table": "table", "number": "scalar"}
_NS = uuid.UUID("0f4b7a52-3c1e-4d7e-9a55-6f3d2c1b0a99")


class MetabaseError(RuntimeError):
    """One line: the call that failed and Metabase's message."""


@dataclass(frozen=True)
class WarehouseConnection:
    host: str
    port: int
    dbname: str
    user: str
    password: str = field(repr=False)

    def details(self) -> dict[str, Any]:
        return {"host": self.host, "port": self.port, "dbname": self.dbname, "user": self.user,
                "password": self.password, "ssl": False, "tunnel-enabled": False}


class MetabaseClient:
    """Metabase's REST API over requests: explicit timeouts, the session header, one-line errors."""

    def __init__(self, url: str, *, timeout: float = 30.0, session: requests.Session | None = None) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.http = session or requests.Session()
        self.calls: list[tuple[str, str]] = []  # (method, path) of every call, for the sync's summary

    def login(self, token: str) -> None:
        self.http.headers["X-Metabase-Session"] = token

    def request(self, method: str, path: str, body: Any = None, params: dict | None = None) -> Any:
        self.calls.append((method, path))
        try:
            response = self.http.request(method, f"{self.url}{path}", json=body, params=params,
                                         timeout=self.timeout)
        except requests.RequestException as exc:
            raise MetabaseError(f"cannot reach Metabase at {self.url} ({type(exc).__name__})") from None
        if response.status_code >= 400:
            raise MetabaseError(f"{method} {path}: HTTP {response.status_code}: {_message(response)}")
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise MetabaseError(f"{method} {path}: not JSON (is {self.url} a Metabase?)") from None

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params or None)

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, body)

    def put(self, path: str, body: Any) -> Any:
        return self.request("PUT", path, body)

    def writes(self) -> list[tuple[str, str]]:
        return [c for c in self.calls if c[0] != "GET"]


def _message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200].strip() or response.reason
    if isinstance(body, dict):
        if body.get("message"):
            return str(body["message"])
        if isinstance(body.get("errors"), dict):
            return "; ".join(f"{k}: {v}" for k, v in body["errors"].items())
    return str(body)[:200]


def _data(body: Any) -> list[dict]:
    """List endpoints answer a list or, since 0.40, {"data": [...], "total": …}."""
    return body.get("data", []) if isinstance(body, dict) else list(body or [])


@dataclass
class SyncResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    descriptions: str = "not pushed"
    dashboard_urls: dict[str, str] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.archived)

    def lines(self) -> list[str]:
        out = [f"created: {', '.join(self.created)}" if self.created else "created: nothing",
               f"updated: {', '.join(self.updated)}" if self.updated else "updated: nothing",
               f"unchanged: {len(self.unchanged)}"]
        if self.archived:
            out.append(f"archived (question removed): {', '.join(self.archived)}")
        if self.skipped:
            out.append(f"not in Metabase (read raw or Airflow; Metabase connects as analyst): "
                       f"{', '.join(self.skipped)}")
        out.append(f"dbt descriptions: {self.descriptions}")
        out += [f"{name}: {url}" for name, url in self.dashboard_urls.items()]
        return out


def _marker(key: str) -> str:
    return f"(tracker: {key})"


def _with_marker(description: str, key: str) -> str:
    return f"{description.strip()}\n\n{_marker(key)}"


def _key_of(item: dict) -> str | None:
    found = MARKER.search(item.get("description") or "")
    return found.group(1) if found else None


def native_sql(question: Question) -> str:
    """`{{person}}` is already Metabase's template-tag syntax; normalise the spacing."""
    return PARAMETER.sub(lambda m: "{{" + m.group(1) + "}}", question.sql)


def template_tags(dashboard: Dashboard, question: Question, person_id: str) -> dict[str, Any]:
    tags = {}
    for name in question.parameters:
        tags[name] = {"id": str(uuid.uuid5(_NS, f"{dashboard.id}/{question.id}/{name}")), "name": name,
                      "display-name": name.title(), "type": "text", "required": True, "default": person_id}
    return tags


def visualization_settings(question: Question) -> dict[str, Any]:
    chart = question.chart
    settings: dict[str, Any] = {}
    if chart.type in ("line", "bar", "area", "point"):
        metrics = [*chart.y, *([chart.highlight] if chart.highlight else [])]
        settings["graph.dimensions"] = [chart.x, *([chart.color] if chart.color else [])]
        settings["graph.metrics"] = metrics
        settings["graph.x_axis.title_text"] = chart.x.replace("_", " ")
        if chart.y_title:
            settings["graph.y_axis.title_text"] = chart.y_title
        if not chart.y_zero:
            settings["graph.y_axis.auto_range"] = True
            settings["graph.y_axis.unpin_from_zero"] = True
        if chart.stack:
            settings["stackable.stack_type"] = "stacked"
        if chart.highlight:  # the anomaly marks: dots only, no line between them
            settings["series_settings"] = {chart.highlight: {"display": "line", "line.style": "solid",
                                                             "line.size": "S", "line.marker_enabled": True,
                                                             "line.missing": "none", "color": "#d62728"}}
    elif chart.type == "number":
        settings["scalar.field"] = chart.value
    elif chart.type == "table" and chart.columns:
        settings["table.columns"] = [{"name": c, "enabled": True} for c in chart.columns]
    return settings


def card_body(dashboard: Dashboard, question: Question, *, database_id: int, collection_id: int,
              person_id: str) -> dict[str, Any]:
    return {
        "name": question.title,
        "description": _with_marker(question.description, f"{dashboard.id}/{question.id}"),
        "type": "question",
        "display": DISPLAY[question.chart.type],
        "visualization_settings": visualization_settings(question),
        "collection_id": collection_id,
        "dataset_query": {"database": database_id, "type": "native",
                          "native": {"query": native_sql(question),
                                     "template-tags": template_tags(dashboard, question, person_id)}},
    }


def _query_parts(dataset_query: dict) -> tuple[Any, str, dict]:
    """(database, SQL, template tags) from a legacy native query or an MBQL 5 one (`stages[0].native`)."""
    if "stages" in dataset_query:
        stage = (dataset_query.get("stages") or [{}])[0]
        return dataset_query.get("database"), stage.get("native", ""), stage.get("template-tags") or {}
    native = dataset_query.get("native") or {}
    return dataset_query.get("database"), native.get("query", ""), native.get("template-tags") or {}


def _card_differs(current: dict, wanted: dict) -> list[str]:
    diff = [k for k in ("name", "description", "display", "collection_id")
            if current.get(k) != wanted[k]]
    if (current.get("visualization_settings") or {}) != wanted["visualization_settings"]:
        diff.append("visualization_settings")
    if _query_parts(current.get("dataset_query") or {}) != _query_parts(wanted["dataset_query"]):
        diff.append("dataset_query")
    if current.get("archived"):
        diff.append("archived")
    return diff


def person_parameter(person_id: str) -> dict[str, Any]:
    return {"id": PERSON_PARAMETER, "name": "Person", "slug": "person", "type": "category",
            "default": person_id, "sectionId": "string"}


def dashcard_layout(dashboard: Dashboard, card_ids: dict[str, int]) -> list[dict[str, Any]]:
    """Cards in definition order on Metabase's 24-column grid: width 1 = half, width 2 = the whole row."""
    out, row, col = [], 0, 0
    for q in dashboard.questions:
        if q.id not in card_ids:
            continue
        size_x = GRID_WIDTH if q.chart.width == 2 else GRID_WIDTH // 2
        size_y = 3 if q.chart.type == "number" else 6
        if col + size_x > GRID_WIDTH:
            row, col = row + 6, 0
        mappings = [{"parameter_id": PERSON_PARAMETER, "card_id": card_ids[q.id],
                     "target": ["variable", ["template-tag", "person"]]}] if "person" in q.parameters else []
        out.append({"card_id": card_ids[q.id], "row": row, "col": col, "size_x": size_x, "size_y": size_y,
                    "parameter_mappings": mappings})
        col += size_x
        if col >= GRID_WIDTH:
            row, col = row + size_y, 0
    return out


_DASHCARD_KEYS = ("card_id", "row", "col", "size_x", "size_y", "parameter_mappings")


def _layout_of(dashcards: list[dict]) -> list[dict]:
    def mappings(dc: dict) -> list[dict]:
        return [{k: m.get(k) for k in ("parameter_id", "card_id", "target")} for m in dc.get("parameter_mappings")
                or []]

    return sorted(({**{k: dc.get(k) for k in _DASHCARD_KEYS[:-1]}, "parameter_mappings": mappings(dc)}
                   for dc in dashcards), key=lambda d: (d["row"], d["col"], d["card_id"]))


def _parameters_of(parameters: list[dict]) -> list[dict]:
    return [{k: p.get(k) for k in ("id", "name", "slug", "type", "default")} for p in parameters or []]


class _Sync:
    def __init__(self, client: MetabaseClient, result: SyncResult) -> None:
        self.mb, self.result = client, result

    def session(self, email: str, password: str) -> None:
        props = self.mb.get("/api/session/properties") or {}
        if not props.get("has-user-setup"):
            token = props.get("setup-token")
            if not token:
                raise MetabaseError("Metabase is not set up and offers no setup token")
            answer = self.mb.post("/api/setup", {
                "token": token,
                "user": {"email": email, "password": password, "first_name": "Tracker", "last_name": "Admin",
                         "site_name": "Tracker"},
                "prefs": {"site_name": "Tracker", "site_locale": "en", "allow_tracking": False},
            })
            self.result.created.append(f"admin {email} (first-user setup)")
        else:
            answer = self.mb.post("/api/session", {"username": email, "password": password})
        self.mb.login(str(answer["id"]))

    def database(self, conn: WarehouseConnection) -> int:
        wanted = conn.details()
        for db in _data(self.mb.get("/api/database")):
            if db.get("name") == DATABASE_NAME:
                details = db.get("details") or {}
                drift = [k for k in ("host", "port", "dbname", "user") if details.get(k) != wanted[k]]
                if drift or db.get("engine") != "postgres":
                    self.mb.put(f"/api/database/{db['id']}", {"engine": "postgres", "details": wanted})
                    self.result.updated.append(f"database {DATABASE_NAME} ({', '.join(drift) or 'engine'})")
                else:
                    self.result.unchanged.append(f"database {DATABASE_NAME}")
                return int(db["id"])
        made = self.mb.post("/api/database", {"engine": "postgres", "name": DATABASE_NAME, "details": wanted,
                                              "is_full_sync": True, "auto_run_queries": True})
        self.result.created.append(f"database {DATABASE_NAME}")
        return int(made["id"])

    def collection(self) -> int:
        for c in _data(self.mb.get("/api/collection")):
            if c.get("name") == COLLECTION_NAME and not c.get("archived") and not c.get("personal_owner_id") \
                    and isinstance(c.get("id"), int):
                self.result.unchanged.append(f"collection {COLLECTION_NAME}")
                return c["id"]
        made = self.mb.post("/api/collection", {"name": COLLECTION_NAME, "parent_id": None,
                                                "description": "Made by `tracker metabase sync` from "
                                                               "dashboards/*.yml; edits here are overwritten."})
        self.result.created.append(f"collection {COLLECTION_NAME}")
        return int(made["id"])

    def items(self, collection_id: int, model: str) -> dict[str, dict]:
        found = {}
        for item in _data(self.mb.get(f"/api/collection/{collection_id}/items", models=model)):
            key = _key_of(item)
            if key and item.get("model", model) == model:
                found[key] = item
        return found

    def cards(self, dashboards: list[Dashboard], *, database_id: int, collection_id: int,
              person_id: str) -> dict[str, dict[str, int]]:
        existing = self.items(collection_id, "card")
        ids: dict[str, dict[str, int]] = {}
        for d in dashboards:
            ids[d.id] = {}
            for q in d.questions:
                key = f"{d.id}/{q.id}"
                if q.connection != "analyst":
                    self.result.skipped.append(key)
                    continue
                wanted = card_body(d, q, database_id=database_id, collection_id=collection_id,
                                   person_id=person_id)
                if key in existing:
                    card_id = int(existing[key]["id"])
                    diff = _card_differs(self.mb.get(f"/api/card/{card_id}"), wanted)
                    if diff:
                        self.mb.put(f"/api/card/{card_id}", {**wanted, "archived": False})
                        self.result.updated.append(f"card {key} ({', '.join(diff)})")
                    else:
                        self.result.unchanged.append(f"card {key}")
                else:
                    card_id = int(self.mb.post("/api/card", wanted)["id"])
                    self.result.created.append(f"card {key}")
                ids[d.id][q.id] = card_id
        wanted_keys = {f"{d.id}/{q.id}" for d in dashboards for q in d.questions if q.connection == "analyst"}
        for key, item in existing.items():
            if key not in wanted_keys and not item.get("archived"):
                self.mb.put(f"/api/card/{item['id']}", {"archived": True})
                self.result.archived.append(f"card {key}")
        return ids

    def dashboards(self, dashboards: list[Dashboard], card_ids: dict[str, dict[str, int]], *,
                   collection_id: int, person_id: str) -> None:
        existing = self.items(collection_id, "dashboard")
        for d in dashboards:
            description = _with_marker(d.description, d.id)
            parameters = [person_parameter(person_id)]
            layout = dashcard_layout(d, card_ids[d.id])
            if d.id in existing:
                dash_id = int(existing[d.id]["id"])
                current = self.mb.get(f"/api/dashboard/{dash_id}")
                created = False
            else:
                current = self.mb.post("/api/dashboard", {"name": d.title, "description": description,
                                                          "collection_id": collection_id,
                                                          "parameters": parameters})
                dash_id, created = int(current["id"]), True
                self.result.created.append(f"dashboard {d.id}")
            diff = [k for k, v in (("name", d.title), ("description", description),
                                   ("collection_id", collection_id)) if current.get(k) != v]
            if _parameters_of(current.get("parameters")) != _parameters_of(parameters):
                diff.append("parameters")
            if _layout_of(current.get("dashcards") or []) != _layout_of(layout):
                diff.append("dashcards")
            if diff:
                # keep the ids of dashcards that show the same card; new ones get negative ids (Metabase's
                # convention for "create"); dashcards left out are removed by Metabase
                by_card = {dc.get("card_id"): dc.get("id") for dc in current.get("dashcards") or []}
                dashcards = [{"id": by_card.get(dc["card_id"], -(i + 1)), **dc, "visualization_settings": {}}
                             for i, dc in enumerate(layout)]
                self.mb.put(f"/api/dashboard/{dash_id}", {"name": d.title, "description": description,
                                                          "collection_id": collection_id,
                                                          "parameters": parameters, "dashcards": dashcards})
                if not created:
                    self.result.updated.append(f"dashboard {d.id} ({', '.join(diff)})")
            elif not created:
                self.result.unchanged.append(f"dashboard {d.id}")
            self.result.dashboard_urls[d.id] = f"{self.mb.url}/dashboard/{dash_id}"
        wanted = {d.id for d in dashboards}
        for key, item in existing.items():
            if key not in wanted and not item.get("archived"):
                self.mb.put(f"/api/dashboard/{item['id']}", {"archived": True})
                self.result.archived.append(f"dashboard {key}")


def gold_models(manifest: Path) -> list[str]:
    """Every model dbt builds into the gold schema (what the analyst, so Metabase, sees)."""
    import json

    nodes = json.loads(manifest.read_text(encoding="utf-8"))["nodes"].values()
    return sorted(n["name"] for n in nodes if n["resource_type"] == "model" and n["schema"] == "gold")


def push_descriptions(url: str, email: str, password: str, manifest: Path, models: list[str], *,
                      sync_timeout: int = 120) -> str:
    """The dbt docs' table and column descriptions of the gold models, through dbt-metabase (it waits until
    Metabase's schema sync shows every model, then writes only what differs)."""
    try:
        from dbtmetabase import DbtMetabase, Filter
    except ImportError:
        return "skipped (dbt-metabase is not installed)"
    import logging

    try:
        dbt_mb = DbtMetabase(manifest_path=manifest, metabase_url=url, metabase_username=email,
                             metabase_password=password, http_timeout=30)
        dbt_mb.export_models(metabase_database=DATABASE_NAME, schema_filter=Filter(include=["gold"]),
                             model_filter=Filter(include=models), skip_sources=True, sync_timeout=sync_timeout)
    except Exception as exc:  # noqa: BLE001 - dbt-metabase raises requests/its own errors: one line either way
        logging.getLogger(__name__).debug("dbt-metabase failed", exc_info=True)
        return f"failed ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
    return f"pushed for {len(models)} gold models (dbt-metabase)"


def sync(client: MetabaseClient, dashboards: list[Dashboard], *, admin_email: str, admin_password: str,
         database: WarehouseConnection, person_id: str, manifest: Path | None = None) -> SyncResult:
    result = SyncResult()
    run = _Sync(client, result)
    run.session(admin_email, admin_password)
    database_id = run.database(database)
    collection_id = run.collection()
    card_ids = run.cards(dashboards, database_id=database_id, collection_id=collection_id, person_id=person_id)
    run.dashboards(dashboards, card_ids, collection_id=collection_id, person_id=person_id)
    if manifest is not None:
        result.descriptions = push_descriptions(client.url, admin_email, admin_password, manifest,
                                                gold_models(manifest))
    return result
