"""Hostile input to `tracker extract`: one line, exit 2, and the warehouse's good rows untouched."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

WINDOW = ["--start", "2026-10-12", "--end", "2026-10-13"]
TABLES = ["raw.github__commits", "raw.lastfm__scrobbles", "raw.open_meteo__hourly"]


def good_rows(conn) -> int:
    return sum(conn.execute(f"select count(*) from {t}").fetchone()[0] for t in TABLES)  # noqa: S608


def tracker(*args: str, **env: str | None):
    from tracker.cli import app
    from typer.testing import CliRunner

    return CliRunner().invoke(app, list(args), env={"TRACKER_DEMO": "0", "COLUMNS": "200", **env})


@pytest.fixture()
def loaded(warehouse, demo_api) -> int:
    """The window of every table above loaded once (so a failure would have something to lose)."""
    for source, env in (("weather", {}), ("github", {}), ("lastfm", {})):
        assert tracker("extract", source, *WINDOW, "--demo", **env).exit_code == 0
    return good_rows(warehouse)


EXPECT = "one error line naming what to fix, nothing lost"


def case(name: str, args: list[str], env: dict[str, str | None], says: str):
    return pytest.param(name, args, env, says, marks=pytest.mark.fault(name, EXPECT), id=name)


@pytest.mark.parametrize(("case", "args", "env", "says"), [
    case("tracker extract with a revoked GitHub token", ["github", *WINDOW, "--demo"], {"GITHUB_TOKEN": "bad"},
         "fix environment variable GITHUB_TOKEN"),
    case("tracker extract with a revoked Last.fm key", ["lastfm", *WINDOW, "--demo"], {"LASTFM_API_KEY": "bad"},
         "fix environment variable LASTFM_API_KEY"),
    case("tracker extract without a token", ["github", *WINDOW], {"GITHUB_TOKEN": None}, "needs GITHUB_TOKEN"),
    case("tracker extract with an end before its start",
         ["weather", "--start", "2026-10-13", "--end", "2026-10-12"], {}, "must be after --start"),
])
def test_bad_input_is_one_line_and_loses_nothing(case, args, env, says, loaded, warehouse, fault):
    result = tracker("extract", *args, **env)
    after = good_rows(warehouse)
    lines = result.output.strip().splitlines()
    fault.record(f"{case}: exit {result.exit_code}, {lines[-1] if lines else '(no output)'}", before=loaded,
                 after=after, lost=loaded - after)
    assert result.exit_code == 2 and len(lines) == 1 and says in lines[0] and "Traceback" not in result.output
    assert after == loaded
