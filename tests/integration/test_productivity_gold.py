"""GitHub demo activity → raw (real extracts against the demo API) → dbt → gold fct_productivity_daily.

The expected day rows are recomputed here in Python from the raw rows with the documented rules (local dates
in Europe/Berlin, merge commits excluded, focus blocks of ≤ 30-minute gaps lasting ≥ 60 minutes dated by
their start, active hours as real hours, the score formula) — a second implementation to disagree with.
The window spans the 2026-10-25 fall-back day and a weekend.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from tracker.config import Person, TrackerConfig

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 10, 10, tzinfo=UTC)  # 12 October has a focus block
END = datetime(2026, 10, 27, tzinfo=UTC)
RAW = ("raw.github__commits", "raw.github__pull_requests", "raw.github__reviews", "raw.github__issues",
       "raw.github__contributions_daily", "raw.quarantine", "raw.tracker__people")


@pytest.fixture()
def person(warehouse):
    made = Person(id=f"t_prod_{uuid.uuid4().hex[:8]}", timezone="Europe/Berlin", accounts={"github": "demo-user"})
    yield made
    for table in RAW:
        warehouse.execute(f"delete from {table} where person_id = %s", (made.id,))


def load_github(conn, person: Person, demo_url: str) -> None:
    from tracker.sources.github import extract
    from tracker.sources.github.client import GitHubClient
    from tracker.warehouse.people import sync_people
    from tracker.windows import ExtractWindow

    config = TrackerConfig(people=[person])
    sync_people(conn, config, "test-productivity")

    def client_for(login: str) -> GitHubClient:
        return GitHubClient("demo-token", login, rest_url=f"{demo_url}/github/api",
                            graphql_url=f"{demo_url}/github/api/graphql")

    extract.extract_and_load(conn, client_for, config, ExtractWindow(START, END), "test-productivity")


def expected_days(conn, person_id: str) -> dict:
    q = lambda sql: conn.execute(sql, (person_id,)).fetchall()  # noqa: E731
    commits = q("select authored_at, repo, parent_count, additions, deletions from raw.github__commits "
                "where person_id = %s")
    prs = q("select created_at, merged_at, repo from raw.github__pull_requests where person_id = %s")
    reviews = q("select submitted_at, repo from raw.github__reviews where person_id = %s")
    issues = q("select created_at, repo from raw.github__issues where person_id = %s")
    calendar = dict(q("select day, contribution_count from raw.github__contributions_daily where person_id = %s"))
    day = lambda t: t.astimezone(BERLIN).date()  # noqa: E731
    rows: dict = defaultdict(lambda: defaultdict(int))
    actions: list[tuple[datetime, str]] = []
    for at, repo, parents, added, deleted in commits:
        actions.append((at, repo))
        if parents <= 1:
            r = rows[day(at)]
            r["commits"] += 1
            r["lines_added"] += added or 0
            r["lines_deleted"] += deleted or 0
    for created, merged, repo in prs:
        actions.append((created, repo))
        rows[day(created)]["prs_opened"] += 1
        if merged:
            rows[day(merged)]["prs_merged"] += 1
    for at, repo in reviews:
        actions.append((at, repo))
        rows[day(at)]["reviews"] += 1
    for at, repo in issues:
        actions.append((at, repo))
        rows[day(at)]["issues_opened"] += 1
    repos, hours = defaultdict(set), defaultdict(set)
    for at, repo in actions:
        repos[day(at)].add(repo)
        hours[day(at)].add(at.replace(minute=0, second=0, microsecond=0))  # Berlin offsets are whole hours
    actions.sort()
    blocks, current = [], [actions[0][0]]
    for (prev, _), (at, _) in zip(actions, actions[1:], strict=False):
        if at - prev <= timedelta(minutes=30):
            current.append(at)
        else:
            blocks.append(current)
            current = [at]
    blocks.append(current)
    focus = defaultdict(list)
    for b in blocks:
        if b[-1] - b[0] >= timedelta(minutes=60):
            focus[day(b[0])].append(Decimal((b[-1] - b[0]).total_seconds()) / 60)
    out = {}
    for d in set(rows) | set(calendar) | set(repos):
        r = rows[d]
        minutes = round(sum(focus[d], Decimal(0)), 1)
        score = (4 * r["commits"] + 5 * r["prs_opened"] + 8 * r["prs_merged"] + 4 * r["reviews"]
                 + 3 * r["issues_opened"] + 2 * len(hours[d]) + minutes / 6)
        out[d] = (r["commits"], r["lines_added"], r["lines_deleted"], r["prs_opened"], r["prs_merged"],
                  r["reviews"], r["issues_opened"], len(repos[d]), len(hours[d]), len(focus[d]), minutes,
                  calendar.get(d), min(100, int(score.quantize(Decimal(1), "ROUND_HALF_UP"))),
                  d.isoweekday() >= 6)
    return out


def test_productivity_gold_matches_the_documented_rules(warehouse, person, demo_api):
    from tracker.stack.local import dbt

    # GIVEN 17 days of the demo developer's GitHub activity, loaded by the real extracts
    load_github(warehouse, person, demo_api)
    assert warehouse.execute("select count(*) from raw.github__commits where person_id = %s",
                             (person.id,)).fetchone()[0] > 10
    # WHEN the productivity models build with their tests
    result = dbt("build", "--select", "+fct_productivity_daily", "dim_person", check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    # THEN every local date matches the rules recomputed from raw
    got = {r[0]: tuple(r[1:]) for r in warehouse.execute(
        "select local_date, commits, lines_added, lines_deleted, prs_opened, prs_merged, reviews, issues_opened, "
        "distinct_repos, active_coding_hours, focus_blocks, focus_minutes, github_contributions, "
        "productivity_score, is_weekend from gold.fct_productivity_daily where person_id = %s",
        (person.id,)).fetchall()}
    assert got == expected_days(warehouse, person.id)
    # AND the sample is not trivial: focus blocks, a weekend day and the 25-hour day are in it
    assert sum(v[9] for v in got.values()) > 0 and any(v[13] for v in got.values())
    assert datetime(2026, 10, 25).date() in got
    # AND first/last activity times are the local times of the day's earliest and latest actions
    first, last = warehouse.execute(
        "select first_activity_local_time, last_activity_local_time from gold.fct_productivity_daily "
        "where person_id = %s and local_date = '2026-10-20'", (person.id,)).fetchone()
    times = sorted(t for (t,) in warehouse.execute(
        "select authored_at from raw.github__commits where person_id = %s union all "
        "select created_at from raw.github__pull_requests where person_id = %s union all "
        "select submitted_at from raw.github__reviews where person_id = %s union all "
        "select created_at from raw.github__issues where person_id = %s", (person.id,) * 4).fetchall()
                   if t.astimezone(BERLIN).date() == datetime(2026, 10, 20).date())
    assert (first, last) == (times[0].astimezone(BERLIN).time(), times[-1].astimezone(BERLIN).time())
