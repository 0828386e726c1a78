# ruff: noqa: F401, F811 - pytest fixtures imported from archive_fixtures
"""The archived-tier path on moto, which stores lifecycle rules but never executes them: the test moves each data
object to GLACIER / DEEP_ARCHIVE the way the rule would (same bytes, same key), reading then fails with
InvalidObjectState, and the restore path plans, requests, waits, loads and verifies."""

from __future__ import annotations

import pytest
from archive_fixtures import EDGE_ROWS, adb, archive_dsn, bucket, create_edge_table, edge_table, moto_endpoint, s3

pytestmark = pytest.mark.integration


def transition(s3, bucket: str, manifest_key: str, storage_class: str) -> None:
    """What the lifecycle rule does to a partition's data objects. A copy onto the same key is a new version on
    moto (a real transition keeps the version id), so the STANDARD version is removed and the manifest is
    pointed at the archived one — its bytes and sha256 are unchanged."""
    from tracker.archive import store

    manifest = store.read_manifest(s3, bucket, manifest_key)
    for obj in manifest["objects"]:
        copied = s3.copy_object(Bucket=bucket, Key=obj["key"], StorageClass=storage_class,
                                CopySource={"Bucket": bucket, "Key": obj["key"], "VersionId": obj["version_id"]},
                                MetadataDirective="COPY", TaggingDirective="COPY")
        s3.delete_object(Bucket=bucket, Key=obj["key"], VersionId=obj["version_id"])
        obj["version_id"] = copied["VersionId"]
    manifest.pop("_version_id")
    store.write_manifest(s3, bucket, manifest_key, manifest)


def test_archived_objects_are_requested_waited_for_loaded_and_verified(adb, s3, bucket):
    from tracker.archive import canonical, export, restore, store

    create_edge_table(adb)
    adb.execute("truncate raw.archive_test__edge_values")
    adb.execute(EDGE_ROWS)
    table = edge_table()
    before = canonical.fingerprint(adb, [table])
    run = export.archive(adb, s3, bucket, tables=[table])
    keys = {r.partition: r.manifest_key for r in run.results}
    # GIVEN March moved to GLACIER and October to DEEP_ARCHIVE; November still STANDARD
    transition(s3, bucket, keys["2026-03"], "GLACIER")
    transition(s3, bucket, keys["2026-10"], "DEEP_ARCHIVE")
    march = store.read_manifest(s3, bucket, keys["2026-03"])["objects"][0]
    # THEN reading an archived object fails as on S3
    with pytest.raises(Exception) as err:
        s3.get_object(Bucket=bucket, Key=march["key"], VersionId=march["version_id"])
    assert err.value.response["Error"]["Code"] == "InvalidObjectState"
    # WHEN the dry run plans the restore
    plan = restore.plan_restore(s3, bucket, tables=[table.qualified], first="2026-01", last="2026-12")
    text = plan.describe()
    # THEN it shows the classes, bytes and per-tier waits and costs; Expedited is refused for Deep Archive
    assert {o.storage_class for o in plan.objects} == {"GLACIER", "DEEP_ARCHIVE", "STANDARD"}
    assert "GLACIER: 1 objects" in text and "DEEP_ARCHIVE: 1 objects" in text and "STANDARD: 1 objects" in text
    assert "Bulk: GLACIER 5-12 hours" in text or "Bulk: DEEP_ARCHIVE within 48 hours" in text
    assert "Expedited: not offered for DEEP_ARCHIVE objects" in text
    with pytest.raises(ValueError, match="Expedited retrieval is not offered"):
        restore.request_restores(s3, plan, "Expedited")
    # WHEN the table is lost and restored through the archived tier (waiting until S3 has made the copies)
    adb.execute("truncate raw.archive_test__edge_values")
    assert len(plan.to_request) == 2
    waited = []
    results = restore.restore(adb, s3, plan, tier="Bulk", wait=waited.append, poll_seconds=0)
    # THEN both archived objects were requested, became readable, and every partition verified identical
    assert plan.pending == [] and all(o.restore and 'ongoing-request="false"' in o.restore
                                      for o in plan.objects if o.storage_class != "STANDARD")
    assert [(r.partition, r.status) for r in results] == [
        ("2026-03", "identical"), ("2026-10", "identical"), ("2026-11", "identical")]
    assert canonical.fingerprint(adb, [table]) == before
