# ruff: noqa: F401, F811 - pytest fixtures imported from archive_fixtures
"""The archive under injected faults, on the real PostgreSQL and a real moto S3 server: a server error on a
multipart part leaves no manifest, no half upload and prunes nothing, and the retry equals an uninterrupted run;
prune refuses a month whose rows changed since the archive, and deletes only verified months."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from pathlib import Path

import pytest

if "archive_fixtures" not in sys.modules:  # shared with tests/integration (same module when both are collected)
    _spec = importlib.util.spec_from_file_location(
        "archive_fixtures", Path(__file__).parents[1] / "integration" / "archive_fixtures.py")
    _module = importlib.util.module_from_spec(_spec)
    sys.modules["archive_fixtures"] = _module
    _spec.loader.exec_module(_module)
from archive_fixtures import SMALL_PART, adb, archive_dsn, big_table, bucket, make_client, moto_endpoint, s3

pytestmark = pytest.mark.integration


class FailingPart:
    """The boto3 client, except that the Nth upload_part answers 500 (an S3 InternalError)."""

    def __init__(self, inner, fail_on: int) -> None:
        self._inner, self._fail_on, self.parts = inner, fail_on, 0

    def upload_part(self, **kwargs):
        from botocore.exceptions import ClientError

        self.parts += 1
        if self.parts == self._fail_on:
            raise ClientError({"Error": {"Code": "InternalError", "Message": "injected server error"},
                               "ResponseMetadata": {"HTTPStatusCode": 500}}, "UploadPart")
        return self._inner.upload_part(**kwargs)

    def __getattr__(self, name):
        return getattr(self._inner, name)


def manifests(s3, bucket: str) -> dict[str, dict]:
    from tracker.archive import store

    return {k: store.read_manifest(s3, bucket, k) for k in store.manifest_keys(s3, bucket, "warehouse")}


def comparable(m: dict) -> tuple:
    return m["rows"], m["content_sha256"], m["columns"], m["event_time"], [o["sha256"] for o in m["objects"]]


@pytest.mark.fault("S3 500 on a multipart part mid-archive", "no manifest, nothing pruned; retry = clean run")
def test_server_error_on_a_part_leaves_no_manifest_and_the_retry_equals_a_clean_run(adb, s3, bucket, fault):
    from botocore.exceptions import ClientError
    from tracker.archive import export, prune

    table = big_table(adb)
    rows_before = adb.execute("select count(*) from raw.archive_test__big").fetchone()[0]
    in_october = adb.execute("select count(*) from raw.archive_test__big where ts < '2026-11-01'").fetchone()[0]
    # GIVEN an uninterrupted run into another bucket, for comparison
    clean = f"archive-clean-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=clean)
    s3.put_bucket_versioning(Bucket=clean, VersioningConfiguration={"Status": "Enabled"})
    export.archive(adb, s3, clean, tables=[table], part_size=SMALL_PART)
    october, november = sorted(manifests(s3, clean))
    assert manifests(s3, clean)[november]["objects"][0]["parts"] >= 3
    # WHEN the server fails on a part of November's upload (October's went through)
    failing = FailingPart(s3, fail_on=manifests(s3, clean)[october]["objects"][0]["parts"] + 2)
    with pytest.raises(ClientError, match="injected server error"):
        export.archive(adb, failing, bucket, tables=[table], part_size=SMALL_PART)
    # THEN November has no manifest (not archived), no multipart upload is left open, no row was touched
    assert list(manifests(s3, bucket)) == [october]
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    # AND prune deletes nothing of November (no manifest) — a dry run says what it would do for October
    pruned = prune.prune(adb, s3, bucket, before="2027-01", tables=[table], dry_run=True)
    assert [(r.partition, r.deleted, r.skipped) for r in pruned] == [
        ("2026-10", 0, f"dry run: would delete {in_october:,} rows"), ("2026-11", 0, "no manifest: not archived")]
    after_fault = adb.execute("select count(*) from raw.archive_test__big").fetchone()[0]
    # WHEN the run is retried on a healthy server
    retry = export.archive(adb, s3, bucket, tables=[table], part_size=SMALL_PART)
    # THEN October is unchanged (nothing uploaded) and November is archived: the same as the clean run
    assert [(r.partition, r.status) for r in retry.results] == [("2026-10", "unchanged"), ("2026-11", "uploaded")]
    assert {k: comparable(m) for k, m in manifests(s3, bucket).items()} == \
        {k: comparable(m) for k, m in manifests(s3, clean).items()}
    fault.record("no manifest for the failed month, upload aborted, 0 pruned; retry manifests = clean run's",
                 before=rows_before, after=after_fault, lost=rows_before - after_fault)


@pytest.mark.fault("prune after rows changed since the archive", "the changed month is kept; verified ones go")
def test_prune_keeps_a_changed_month_and_deletes_only_verified_ones(adb, s3, bucket, fault):
    from tracker.archive import canonical, export, prune, restore

    table = big_table(adb, rows=2_000)
    before = canonical.fingerprint(adb, [table])
    in_october = adb.execute("select count(*) from raw.archive_test__big where ts < '2026-11-01'").fetchone()[0]
    export.archive(adb, s3, bucket, tables=[table])
    # GIVEN a row of November changed after the archive
    adb.execute("update raw.archive_test__big set payload = 'changed' where id = 2000")
    # WHEN prune runs for everything before 2027
    results = prune.prune(adb, s3, bucket, before="2027-01", tables=[table])
    # THEN October (verified) is deleted, November (differs) is kept whole
    assert [(r.partition, r.deleted) for r in results] == [("2026-10", in_october), ("2026-11", 0)]
    assert "differ from the archive" in results[1].skipped
    left = adb.execute("select count(*) from raw.archive_test__big").fetchone()[0]
    assert left == 2000 - in_october
    # AND October comes back from the archive exactly
    adb.execute("update raw.archive_test__big set payload = md5('2000') || md5('14000') where id = 2000")
    restore.restore(adb, s3, restore.plan_restore(s3, bucket, tables=[table.qualified]))
    assert canonical.fingerprint(adb, [table]) == before
    after = canonical.fingerprint(adb, [table])[table.qualified][0]
    fault.record("changed month kept, verified month pruned then restored identical", before=2000, after=after,
                 lost=2000 - after)


KILLED_ARCHIVER = r"""
import sys, time
from pathlib import Path
import boto3, psycopg
from tracker.archive import export
from tracker.archive.tables import ArchiveTable

dsn, endpoint, bucket, marker, part_size = sys.argv[1:6]
inner = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                     aws_secret_access_key="test")

class Stalls:
    parts = 0
    def upload_part(self, **kwargs):
        Stalls.parts += 1
        if kwargs["Key"].find("month=11") >= 0 and kwargs["PartNumber"] == 2:
            Path(marker).write_text("uploading")
            time.sleep(120)
        return inner.upload_part(**kwargs)
    def __getattr__(self, name):
        return getattr(inner, name)

with psycopg.connect(dsn, autocommit=True) as conn:
    export.archive(conn, Stalls(), bucket, tables=[ArchiveTable("raw", "archive_test__big", ("id",), "ts",
                   "timestamptz")], part_size=int(part_size))
"""


@pytest.mark.fault("archiver SIGKILLed mid multipart upload", "no manifest; retry completes = clean run")
def test_archiver_killed_mid_upload_leaves_no_manifest_and_the_retry_completes(adb, s3, bucket, archive_dsn,
                                                                              moto_endpoint, tmp_path, fault):
    import signal
    import subprocess
    import time

    from tracker.archive import export

    table = big_table(adb)
    rows_before = adb.execute("select count(*) from raw.archive_test__big").fetchone()[0]
    clean = f"archive-clean-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=clean)
    s3.put_bucket_versioning(Bucket=clean, VersioningConfiguration={"Status": "Enabled"})
    export.archive(adb, s3, clean, tables=[table], part_size=SMALL_PART)
    # GIVEN an archiver process in the middle of November's multipart upload
    marker = tmp_path / "uploading"
    proc = subprocess.Popen([sys.executable, "-c", KILLED_ARCHIVER, archive_dsn, moto_endpoint, bucket, str(marker),
                             str(SMALL_PART)])
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert proc.poll() is None and time.monotonic() < deadline, "the archiver never reached the upload"
        time.sleep(0.05)
    # WHEN it is killed
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    # THEN November has no manifest; its half upload is left open for the lifecycle rule to abort
    months = sorted(manifests(s3, bucket))
    assert len(months) == 1 and "month=10" in months[0], months
    assert len(s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])) == 1
    after_kill = adb.execute("select count(*) from raw.archive_test__big").fetchone()[0]
    # WHEN the run is retried
    export.archive(adb, s3, bucket, tables=[table], part_size=SMALL_PART)
    # THEN the archive equals an uninterrupted run's
    assert {k: comparable(m) for k, m in manifests(s3, bucket).items()} == \
        {k: comparable(m) for k, m in manifests(s3, clean).items()}
    fault.record("no manifest for the month being uploaded; retry manifests = clean run's", before=rows_before,
                 after=after_kill, lost=rows_before - after_kill)
