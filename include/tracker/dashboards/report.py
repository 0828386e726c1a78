"""The local report: every dashboard rendered to static HTML without Metabase, one page per dashboard.

Charts are Vega-Lite specs built from the definitions with the question's rows inlined, drawn in the browser
by the vendored vega / vega-lite / vega-embed files (copied into `static/` next to the pages: no network is
needed to view a report). Tables and single numbers are plain HTML. The default folder is inside the dbt
target the docs server serves, so the stack serves the report at `<dbt docs>/report/` behind the same login.
"""

from __future__ import annotations

import decimal
import html
import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tracker.dashboards.definitions import Chart, Dashboard, Question
from tracker.dashboards.queries import Connections, Result

STATIC = Path(__file__).with_name("static")
SCRIPTS = ("vega.min.js", "vega-lite.min.js", "vega-embed.min.js")
SERIES_COLOURS = ["#4c78a8", "#f58518", "#54a24b", "#b279a2", "#e45756", "#72b7b2", "#eeca3b", "#9d755d"]


def default_report_dir() -> Path:
    """TRACKER_REPORT_DIR, else `<dbt target>/report`: the docs server (tracker.stack.docs_server) serves the
    dbt target folder, so the report is at `<dbt docs>/report/` behind the stack's login."""
    import os

    if os.environ.get("TRACKER_REPORT_DIR"):
        return Path(os.environ["TRACKER_REPORT_DIR"])
    from tracker.stack.env import stack_env

    return Path(stack_env(demo=False)["DBT_TARGET_PATH"]) / "report"


def report_url() -> str:
    """Where the stack serves the default report."""
    from tracker import settings

    return f"{settings.docs_url()}/report/"


def _title(column: str) -> str:
    return column.replace("_", " ")


def vega_lite(question: Question, records: list[dict[str, Any]]) -> dict[str, Any]:
    """The Vega-Lite spec of a line/bar/area/point question with its rows inlined."""
    chart: Chart = question.chart
    x_enc: dict[str, Any] = {"field": chart.x, "type": chart.x_type, "title": _title(chart.x or "")}
    if chart.x_type == "temporal":
        x_enc["scale"] = {"type": "utc"}  # dates are calendar dates: never shift them into the viewer's zone
        x_enc["axis"] = {"format": "%d %b", "formatType": "utc"}
        if chart.type == "bar":
            x_enc["timeUnit"] = "utcyearmonthdate"
    tooltip = [{"field": c, "type": "nominal" if c in (chart.color,) else None} for c in chart.used_columns()]
    tooltip = [{k: v for k, v in t.items() if v is not None} for t in tooltip]
    for t in tooltip:
        if t["field"] == chart.x and chart.x_type == "temporal":
            t.update(type="temporal", scale={"type": "utc"}, format="%Y-%m-%d", formatType="utc")
    mark: dict[str, Any] = {"type": chart.type, "tooltip": True}
    if chart.type == "line":
        mark["point"] = len(records) < 60
    spec: dict[str, Any] = {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "width": "container", "height": 240, "autosize": {"type": "fit", "contains": "padding"},
        "data": {"values": records},
    }
    y_title = chart.y_title or (_title(chart.y[0]) if len(chart.y) == 1 else "")
    encoding: dict[str, Any] = {"x": x_enc, "tooltip": tooltip}
    if len(chart.y) > 1:
        spec["transform"] = [{"fold": chart.y, "as": ["series", "value"]}]
        encoding["y"] = {"field": "value", "type": "quantitative", "title": y_title}
        encoding["color"] = {"field": "series", "type": "nominal", "sort": chart.y, "title": None,
                             "scale": {"domain": chart.y, "range": SERIES_COLOURS[:len(chart.y)]},
                             "legend": {"orient": "bottom", "labelExpr": "replace(datum.label, /_/g, ' ')"}}
    else:
        encoding["y"] = {"field": chart.y[0], "type": "quantitative", "title": y_title}
        if chart.color:
            encoding["color"] = {"field": chart.color, "type": "nominal", "title": _title(chart.color),
                                 "legend": {"orient": "bottom"}}
    if not chart.y_zero:
        encoding["y"]["scale"] = {"zero": False}
    if chart.stack:
        encoding["y"]["stack"] = "zero"
    elif chart.type in ("bar", "area") and (len(chart.y) > 1 or chart.color):
        encoding["y"]["stack"] = None
    if chart.type == "point":
        mark.update(filled=True, size=50, opacity=0.8)
    layer_main = {"mark": mark, "encoding": encoding}
    if chart.highlight:
        marks = {"mark": {"type": "point", "filled": True, "size": 90, "color": "#d62728", "tooltip": True},
                 "transform": [{"filter": f"isValid(datum['{chart.highlight}'])"}],
                 "encoding": {"x": {k: v for k, v in x_enc.items() if k != "timeUnit"},
                              "y": {"field": chart.highlight, "type": "quantitative",
                                    "scale": {"zero": chart.y_zero}},
                              "tooltip": [t for t in tooltip if t["field"] in (chart.x, chart.highlight)]}}
        spec["layer"] = [layer_main, marks]
    else:
        spec.update(layer_main)
    return spec


def _cell(value: Any) -> str:
    if value is None:
        return '<td class="null">–</td>'
    if isinstance(value, datetime):
        shown = f"{value.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if value.tzinfo else f"{value:%Y-%m-%d %H:%M}"
        return f"<td>{shown}</td>"
    if isinstance(value, decimal.Decimal):
        value = float(value)
    if isinstance(value, float):
        return f'<td class="num">{value:,.2f}</td>'
    if isinstance(value, int) and not isinstance(value, bool):
        return f'<td class="num">{value:,}</td>'
    return f"<td>{html.escape(str(value))}</td>"


def _table(question: Question, result: Result) -> str:
    columns = question.chart.columns or result.columns
    rows = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
    head = "".join(f"<th>{html.escape(_title(c))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(_cell(r.get(c)) for c in columns) + "</tr>" for r in rows)
    return f'<table class="rows"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _number(question: Question, result: Result) -> str:
    records = result.records()
    value = records[0].get(question.chart.value) if records else None
    shown = "–" if value is None else (f"{value:,.3f}" if isinstance(value, float) else html.escape(str(value)))
    extra = "".join(f"<span>{html.escape(_title(k))} {html.escape(str(v))}</span>"
                    for k, v in (records[0].items() if records else []) if k != question.chart.value)
    return f'<div class="number" data-value="{html.escape(str(value))}">{shown}</div><div class="extra">{extra}</div>'


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f5f6f8;color:#1d2330}
header{background:#1d2330;color:#fff;padding:12px 24px;display:flex;gap:24px;align-items:baseline;flex-wrap:wrap}
header a{color:#cfe0ff;text-decoration:none}header a.current{color:#fff;font-weight:600}
header .brand{font-weight:700;font-size:18px;color:#fff}
main{padding:16px 24px;max-width:1400px;margin:auto}
.lead{color:#4a5263;margin:4px 0 16px}
.grid{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:16px}
.card{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12);padding:14px 16px;min-width:0}
.card.wide{grid-column:1 / -1}
.card h2{font-size:16px;margin:0 0 4px}.card p{font-size:12.5px;color:#5a6375;margin:0 0 8px}
.chart{width:100%;min-height:250px}.empty{color:#8a92a3;font-style:italic;padding:40px 0;text-align:center}
.failed{color:#b3261e}.meta{font-size:11px;color:#8a92a3;margin-top:6px}
table.rows{border-collapse:collapse;width:100%;font-size:13px}
table.rows th{text-align:left;border-bottom:2px solid #dde1e8;padding:4px 8px;text-transform:capitalize}
table.rows td{border-bottom:1px solid #eef0f4;padding:4px 8px}td.num{text-align:right;font-variant-numeric:tabular-nums}
td.null{color:#aab}
.number{font-size:48px;font-weight:700;padding:16px 0 4px}.extra span{margin-right:12px;color:#5a6375}
ul.dashboards li{margin:8px 0}footer{color:#8a92a3;font-size:12px;padding:16px 24px}
"""


def _page(title: str, nav: str, body: str, scripts: str = "") -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)} · Tracker'
            f'</title><meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style>'
            f"</head><body><header>{nav}</header><main>{body}</main>{scripts}</body></html>\n")


def _nav(dashboards: list[Dashboard], current: str, docs_url: str | None) -> str:
    links = [f'<a class="{"current" if current == "index" else ""}" href="index.html">All dashboards</a>']
    links += [f'<a class="{"current" if d.id == current else ""}" href="{d.id}.html">{html.escape(d.title)}</a>'
              for d in dashboards]
    if docs_url:
        links.append(f'<a href="{html.escape(docs_url)}">dbt docs</a>')
    return '<span class="brand">Tracker</span>' + "".join(links)


def _json_script(data: Any) -> str:
    text = json.dumps(data, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    return f'<script id="specs" type="application/json">{text}</script>'


EMBED = """<script src="static/vega.min.js"></script><script src="static/vega-lite.min.js"></script>
<script src="static/vega-embed.min.js"></script><script>
for (const s of JSON.parse(document.getElementById('specs').textContent)) {
  if (!s.vega_lite) continue;
  vegaEmbed('#chart-' + s.id, s.vega_lite, {renderer: 'svg', actions: false})
    .then(() => document.getElementById('chart-' + s.id).setAttribute('data-rendered', 'true'))
    .catch(e => { const el = document.getElementById('chart-' + s.id);
                  el.setAttribute('data-error', String(e)); el.textContent = 'chart error: ' + e; });
}
</script>"""


def render_dashboard(dashboard: Dashboard, results: dict[str, Result | Failure], dashboards: list[Dashboard], *,
                     person_id: str, generated_at: datetime, docs_url: str | None = None) -> str:
    cards, specs = [], []
    for q in dashboard.questions:
        result = results[q.id]
        records = [] if isinstance(result, Failure) else result.records()
        spec: dict[str, Any] = {"id": q.id, "type": q.chart.type, "rows": len(records)}
        if isinstance(result, Failure):
            spec["error"] = result.message
            inner = f'<div class="empty failed">Not available: {html.escape(result.message)}</div>'
        elif not records:
            inner = '<div class="empty">No rows yet.</div>'
        elif q.chart.type == "table":
            inner = _table(q, result)
        elif q.chart.type == "number":
            inner = _number(q, result)
        else:
            spec["vega_lite"] = vega_lite(q, records)
            inner = f'<div class="chart" id="chart-{q.id}"></div>'
        specs.append(spec)
        where = {"analyst": "gold, as analyst", "loader": "raw, as loader",
                 "airflow": "Airflow metadata"}[q.connection]
        cards.append(f'<section class="card{" wide" if q.chart.width == 2 else ""}" id="q-{q.id}">'
                     f"<h2>{html.escape(q.title)}</h2><p>{html.escape(q.description)}</p>{inner}"
                     f'<div class="meta">{len(records)} rows · {where} · {", ".join(q.tables()) or "dag_run"}'
                     "</div></section>")
    body = (f"<h1>{html.escape(dashboard.title)}</h1><p class=\"lead\">{html.escape(dashboard.description)}</p>"
            f'<p class="lead">Person <b>{html.escape(person_id)}</b> · generated '
            f'{generated_at:%Y-%m-%d %H:%M} UTC</p><div class="grid">{"".join(cards)}</div>')
    return _page(dashboard.title, _nav(dashboards, dashboard.id, docs_url), body, _json_script(specs) + EMBED)


def render_index(dashboards: list[Dashboard], *, person_id: str, generated_at: datetime,
                 docs_url: str | None = None) -> str:
    items = "".join(f'<li><a href="{d.id}.html"><b>{html.escape(d.title)}</b></a> — {html.escape(d.description)}'
                    f" ({len(d.questions)} questions)</li>" for d in dashboards)
    body = (f'<h1>Dashboards</h1><p class="lead">Person <b>{html.escape(person_id)}</b> · generated '
            f"{generated_at:%Y-%m-%d %H:%M} UTC from <code>dashboards/*.yml</code> (the same definitions "
            f'Metabase is provisioned from).</p><ul class="dashboards">{items}</ul>')
    return _page("Dashboards", _nav(dashboards, "index", docs_url), body)


@dataclass(frozen=True)
class Failure:
    """A question that could not be answered: its card says why, the command lists it and exits 1."""

    dashboard: str
    question: str
    message: str

    def __str__(self) -> str:
        return f"{self.dashboard}/{self.question}: {self.message}"


def query_all(dashboards: list[Dashboard], person_id: str,
              conns: Connections) -> tuple[dict[str, dict[str, Result | Failure]], list[Failure]]:
    """Every question's rows. A question whose database refuses it (not built yet, unreachable, no right)
    becomes a Failure on its card; the other questions still render."""
    import psycopg

    from tracker.dashboards import queries

    results: dict[str, dict[str, Result | Failure]] = {}
    failures: list[Failure] = []
    for d in dashboards:
        results[d.id] = {}
        for q in d.questions:
            try:
                results[d.id][q.id] = queries.run(conns.get(q.connection), q, person_id)
            except psycopg.Error as exc:
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                failure = Failure(d.id, q.id, f"{q.connection} connection: {first}")
                results[d.id][q.id] = failure
                failures.append(failure)
    return results, failures


@dataclass(frozen=True)
class Report:
    pages: list[Path]
    failures: list[Failure]


def write_report(out: Path, dashboards: list[Dashboard], *, person_id: str, docs_url: str | None = None,
                 dsns: dict[str, str] | None = None) -> Report:
    """Query every question, write index.html + one page per dashboard + static/ into `out` (each file
    replaced atomically, so a server never serves half a page)."""
    conns = Connections(dsns)
    try:
        results, failures = query_all(dashboards, person_id, conns)
    finally:
        conns.close()
    generated_at = datetime.now(UTC)
    out.mkdir(parents=True, exist_ok=True)
    (out / "static").mkdir(exist_ok=True)
    for name in (*SCRIPTS, "LICENSES.txt"):
        target = out / "static" / name
        if not target.exists() or target.stat().st_size != (STATIC / name).stat().st_size:
            shutil.copyfile(STATIC / name, target)
    pages = {"index.html": render_index(dashboards, person_id=person_id, generated_at=generated_at,
                                        docs_url=docs_url)}
    for d in dashboards:
        pages[f"{d.id}.html"] = render_dashboard(d, results[d.id], dashboards, person_id=person_id,
                                                 generated_at=generated_at, docs_url=docs_url)
    written = []
    for name, text in pages.items():
        tmp = out / f".{name}.tmp"
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out / name)
        written.append(out / name)
    return Report(written, failures)


def regenerate(out: Path | None = None, dashboards: list[Dashboard] | None = None) -> Report:
    """The report of the configured person (after every dbt run): with several people, one folder per person
    under `out` (`out/<person>/`) and an index linking them. Questions that fail are on their cards."""
    from tracker.config import load_config
    from tracker.dashboards.definitions import load_dashboards

    out = out or default_report_dir()
    dashboards = dashboards or load_dashboards()
    people = [p.id for p in load_config().people]
    if len(people) == 1:
        return write_report(out, dashboards, person_id=people[0])
    pages, failures = [], []
    for person_id in people:
        made = write_report(out / person_id, dashboards, person_id=person_id)
        pages += made.pages
        failures += made.failures
    items = "".join(f'<li><a href="{html.escape(p)}/index.html">{html.escape(p)}</a></li>' for p in people)
    out.mkdir(parents=True, exist_ok=True)
    index = out / "index.html"
    tmp = out / ".index.html.tmp"
    tmp.write_text(_page("People", '<span class="brand">Tracker</span>',
                         f'<h1>Dashboards per person</h1><ul class="dashboards">{items}</ul>'), encoding="utf-8")
    tmp.replace(index)
    return Report([index, *pages], failures)
