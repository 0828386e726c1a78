"""The fault suite: hostile inputs and injected faults against the real PostgreSQL, broker and S3 server.

Every test here records one row with the `fault` fixture — case, what we expect, what happened, the rows
of good data before and after, and how many of them were lost. The rows are printed as one table at the
end of the session (tests/conftest.py `pytest_terminal_summary`), ending with "N hostile cases, M rows lost".
`lost` must be computed by the test from the data (expected good rows minus good rows found), never typed in.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

FAULT_ROWS = "tracker_fault_rows"  # a list on the pytest config, read by tests/conftest.py
_ITEM_ROW = pytest.StashKey["FaultRow"]()


@dataclass
class FaultRow:
    case: str
    expected: str
    happened: str = "(test did not finish)"
    before: int | None = None
    after: int | None = None
    lost: int | None = None
    passed: bool = False


class FaultRecorder:
    """One test's row of the fault table; `record()` fills it in, the test's outcome marks it passed."""

    def __init__(self, row: FaultRow) -> None:
        self.row = row

    def record(self, happened: str, *, before: int | None = None, after: int | None = None,
               lost: int | None = None) -> None:
        self.row.happened, self.row.before, self.row.after, self.row.lost = happened, before, after, lost


@pytest.fixture()
def fault(request: pytest.FixtureRequest) -> FaultRecorder:
    """`fault.record(happened, before=, after=, lost=)` — case and expectation come from the test's marker
    `@pytest.mark.fault(case, expected)`."""
    marker = request.node.get_closest_marker("fault")
    if marker is None:
        raise pytest.UsageError(f"{request.node.nodeid}: add @pytest.mark.fault(case, expected)")
    case, expected = marker.args
    row = FaultRow(case=case, expected=expected)
    if not hasattr(request.config, FAULT_ROWS):
        setattr(request.config, FAULT_ROWS, [])
    getattr(request.config, FAULT_ROWS).append(row)
    request.node.stash[_ITEM_ROW] = row
    yield FaultRecorder(row)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and (row := item.stash.get(_ITEM_ROW, None)) is not None:
        row.passed = report.passed
