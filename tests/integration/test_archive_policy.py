# ruff: noqa: F401, F811 - pytest fixtures imported from archive_fixtures
"""The bucket policy as code against a real moto S3 server: applied, read back equal, drift detected."""

from __future__ import annotations

import json

import pytest
from archive_fixtures import bucket, moto_endpoint, s3

pytestmark = pytest.mark.integration


def test_policy_read_back_equals_config_and_a_changed_rule_is_drift(s3, bucket):
    from tracker.archive.policy import ArchivePolicy, PolicyDrift, apply_policy, check_policy, drift

    policy = ArchivePolicy(prefix="warehouse", require_tls=False)
    # GIVEN the policy applied
    apply_policy(s3, bucket, policy)
    # THEN what the bucket returns equals the config (moto's one gap is named, not hidden)
    assert drift(s3, bucket, policy, server="moto") == []
    assert check_policy(s3, bucket, policy, server="moto") == ["TransitionDefaultMinimumObjectSize"]
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
    assert rules["tracker-data-to-glacier"]["Transitions"] == [{"Days": 90, "StorageClass": "GLACIER"},
                                                               {"Days": 270, "StorageClass": "DEEP_ARCHIVE"}]
    # manifests are not tagged as data: the transition rule's filter never matches them
    assert rules["tracker-data-to-glacier"]["Filter"]["And"]["Tags"] == [{"Key": "tracker-archive", "Value": "data"}]
    # WHEN someone edits a rule by hand (Glacier after 30 days) and suspends versioning
    changed = policy.lifecycle()
    changed["Rules"][0]["Transitions"][0]["Days"] = 30
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=changed)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    # THEN the check fails loudly, naming both
    with pytest.raises(PolicyDrift) as err:
        check_policy(s3, bucket, policy, server="moto")
    assert "Lifecycle" in str(err.value) and '"Days": 30' in str(err.value)
    assert "Versioning: bucket has \"Suspended\"" in str(err.value)
    # AND applying the policy again repairs it
    apply_policy(s3, bucket, policy)
    assert drift(s3, bucket, policy, server="moto") == []
    # AND on AWS the size rule is compared too: moto's answer (128K default) would be drift there
    assert any(line.startswith("TransitionDefaultMinimumObjectSize") for line in drift(s3, bucket, policy))


def test_deny_non_tls_policy_refuses_plain_http(s3, bucket):
    from tracker.archive.policy import ArchivePolicy, apply_policy, read_back

    # GIVEN the TLS-only bucket policy (what AWS gets; the local http moto is configured without it)
    apply_policy(s3, bucket, ArchivePolicy(prefix="warehouse", require_tls=True))
    assert read_back(s3, bucket)["Policy"]["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    # THEN a request over plain http is refused
    with pytest.raises(Exception) as err:
        s3.put_object(Bucket=bucket, Key="warehouse/x", Body=b"1")
    assert err.value.response["Error"]["Code"] in {"AccessDenied", "403"}, json.dumps(err.value.response)


@pytest.mark.parametrize(("changes", "message"), [
    ({"deep_archive_after_days": 120}, "Glacier Flexible Retrieval bills 90 days"),
    ({"glacier_after_days": 30}, "rewritten for 60 days"),
    ({"noncurrent_expire_after_days": 30}, "DEEP_ARCHIVE bills 180 days"),
])
def test_policy_refuses_transitions_inside_minimum_durations(changes, message):
    from tracker.archive.policy import ArchivePolicy, PolicyError

    with pytest.raises(PolicyError, match=message):
        ArchivePolicy(prefix="warehouse", **changes).validate()
    ArchivePolicy(prefix="warehouse").validate()
