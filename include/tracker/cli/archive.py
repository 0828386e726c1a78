"""`tracker archive`, `tracker restore`, `tracker fingerprint`: the S3 archive without Airflow.

S3 is TRACKER_S3_ENDPOINT (default: the local stack's moto; `aws` for the real AWS S3 with boto3's credential
chain), the bucket TRACKER_ARCHIVE_BUCKET (default tracker-archive), the prefix TRACKER_ARCHIVE_PREFIX
(default warehouse). The warehouse is TRACKER_WAREHOUSE_DSN, else the local stack's.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer

from tracker.cli.common import connect_warehouse, console, fail

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _month(value: str | None, option: str) -> str | None:
    if value is None:
        return None
    if not _MONTH.match(value):
        fail(f"{option} {value!r} is not a month (YYYY-MM)")
    return value


def _range(first: str | None, last: str | None) -> tuple[str | None, str | None]:
    first, last = _month(first, "--from"), _month(last, "--to")
    if first and last and first > last:
        fail(f"--from {first} is after --to {last}")
    return first, last


def _tables(names: list[str] | None) -> list[Any] | None:
    from tracker.archive.tables import table

    try:
        return [table(n) for n in names] if names else None
    except ValueError as exc:
        fail(str(exc))


def _s3() -> tuple[Any, str, str]:
    """(client, bucket, endpoint) — one line when S3 cannot be reached or the bucket is missing."""
    import os

    from tracker import settings
    from tracker.archive import store

    endpoint = os.environ.get("TRACKER_S3_ENDPOINT", settings.s3_endpoint())
    client, bucket = store.client_from_env(), store.default_bucket()
    try:
        client.head_bucket(Bucket=bucket)
    except Exception as exc:  # noqa: BLE001 - botocore's connection and client errors alike
        fail(f"cannot use s3://{bucket} at {endpoint} ({str(exc).strip()}): run `tracker up`, or set "
             "TRACKER_S3_ENDPOINT / TRACKER_ARCHIVE_BUCKET")
    return client, bucket, endpoint


def archive(
    first: Annotated[str | None, typer.Option("--from", help="first month, YYYY-MM (default: every month)")] = None,
    last: Annotated[str | None, typer.Option("--to", help="last month, YYYY-MM, inclusive")] = None,
    table: Annotated[list[str] | None, typer.Option("--table", help="schema.table (repeatable); default all")] = None,
    policy: Annotated[bool, typer.Option(help="apply the bucket policy and check it for drift first")] = True,
) -> None:
    """Archive raw tables to S3 as Parquet per month; unchanged months upload nothing."""
    from tracker.archive import export
    from tracker.archive import policy as bucket_policy
    from tracker.archive.store import VerificationError

    first, last = _range(first, last)
    tables = _tables(table)
    client, bucket, endpoint = _s3()
    if policy:
        rules = bucket_policy.ArchivePolicy.from_env(endpoint)
        try:
            bucket_policy.apply_policy(client, bucket, rules)
            unchecked = bucket_policy.check_policy(client, bucket, rules, bucket_policy.server_kind(endpoint))
        except (bucket_policy.PolicyError, bucket_policy.PolicyDrift) as exc:
            fail(str(exc), 1)
        console.print(f"s3://{bucket}: policy applied and read back equal"
                      + (f" (not readable on this server: {', '.join(unchecked)})" if unchecked else ""))
    with connect_warehouse(autocommit=True) as conn:
        try:
            run = export.archive(conn, client, bucket, tables=tables, first=first, last=last,
                                 part_size=export.env_part_size(), log=console.print)
        except export.WarehouseLooksEmpty as exc:
            fail(str(exc), 1)
        except (VerificationError, LookupError) as exc:
            fail(str(exc), 1)
    console.print(run.summary())


def restore(
    table: Annotated[list[str] | None, typer.Option("--table", help="schema.table (repeatable)")] = None,
    all_tables: Annotated[bool, typer.Option("--all", help="every archived table")] = False,
    first: Annotated[str | None, typer.Option("--from", help="first month, YYYY-MM")] = None,
    last: Annotated[str | None, typer.Option("--to", help="last month, YYYY-MM, inclusive")] = None,
    tier: Annotated[str, typer.Option(help="retrieval tier for GLACIER/DEEP_ARCHIVE: Standard|Bulk|Expedited")]
    = "Standard",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the restore plan only")] = False,
    poll: Annotated[float, typer.Option(help="seconds between checks while S3 restores archived objects")] = 60.0,
) -> None:
    """Restore archived partitions into the warehouse, verified against their manifests (never overwrites)."""
    from tracker.archive import restore as restoring
    from tracker.archive.store import VerificationError

    if bool(table) == all_tables:
        fail("give --table T (repeatable) or --all")
    first, last = _range(first, last)
    tables = _tables(table)
    client, bucket, _ = _s3()
    plan = restoring.plan_restore(client, bucket, tables=[t.qualified for t in tables] if tables else None,
                                  first=first, last=last)
    if not plan.items:
        fail(f"no archived partitions in s3://{bucket} match", 1)
    try:
        restoring.check_tier(plan, tier)
    except ValueError as exc:
        fail(str(exc))
    console.print(plan.describe(), soft_wrap=True)
    if dry_run:
        return
    with connect_warehouse(autocommit=True) as conn:
        try:
            results = restoring.restore(conn, client, plan, tier=tier, poll_seconds=poll, log=console.print)
        except (restoring.RestoreVerificationError, VerificationError, TimeoutError, LookupError) as exc:
            fail(str(exc), 1)
    differs = [r for r in results if r.status != "identical"]
    console.print(f"restored {sum(r.inserted for r in results):,} rows into {len(results)} partitions; "
                  f"{len(results) - len(differs)} identical to the archive"
                  + (f", {len(differs)} differ (the warehouse's newer rows were kept)" if differs else ""))


def fingerprint(
    table: Annotated[list[str] | None, typer.Option("--table", help="schema.table (repeatable); default all")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Rows and md5 of the canonical content of every raw table: equal before an archive and after a restore."""
    import json

    from tracker.archive.canonical import fingerprint as compute

    tables = _tables(table)
    with connect_warehouse(autocommit=True) as conn:
        prints = compute(conn, tables)
    if as_json:
        console.print_json(json.dumps({t: {"rows": n, "md5": d} for t, (n, d) in prints.items()}))
        return
    width = max(len(t) for t in prints)
    for t, (n, d) in prints.items():
        console.print(f"{t:<{width}}  {n:>12,}  {d}")


def prune(
    before: Annotated[str, typer.Option("--before", help="delete months before this one, YYYY-MM")],
    table: Annotated[list[str] | None, typer.Option("--table", help="schema.table (repeatable); default all")] = None,
    delete: Annotated[bool, typer.Option("--delete", help="really delete (default: say what would go)")] = False,
) -> None:
    """Delete raw rows of months the archive verifiably holds (objects re-read, digests equal) — off by default."""
    from tracker.archive import prune as pruning

    before = _month(before, "--before")
    tables = _tables(table)
    client, bucket, _ = _s3()
    with connect_warehouse(autocommit=True) as conn:
        results = pruning.prune(conn, client, bucket, before=before, tables=tables, dry_run=not delete,
                                log=console.print)
    console.print(f"{'deleted' if delete else 'dry run:'} {sum(r.deleted for r in results):,} rows in "
                  f"{sum(r.deleted > 0 for r in results)} months; {sum(bool(r.skipped) for r in results)} months kept"
                  + ("" if delete else " (pass --delete to delete the verified ones)"))


def register(app: typer.Typer) -> None:
    app.command("archive")(archive)
    app.command("prune")(prune)
    app.command("restore")(restore)
    app.command("fingerprint")(fingerprint)
