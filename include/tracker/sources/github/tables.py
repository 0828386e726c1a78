"""The GitHub raw tables, as warehouse/ddl/040_github.sql declares them:
columns in COPY order, key = primary key."""

from __future__ import annotations

from tracker.warehouse.loader import RawTable

COMMITS = RawTable.from_ddl("github__commits", window_column="authored_at")
PULL_REQUESTS = RawTable.from_ddl("github__pull_requests", window_column="created_at")
REVIEWS = RawTable.from_ddl("github__reviews", window_column="submitted_at")
ISSUES = RawTable.from_ddl("github__issues", window_column="created_at")
CONTRIBUTIONS_DAILY = RawTable.from_ddl("github__contributions_daily", window_column="day_start")
