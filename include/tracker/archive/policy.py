"""The bucket's policy as code: applied, then read back and compared — any difference is drift and fails loudly.

Lifecycle (data objects only — Parquet files carry the tag `tracker-archive=data`; manifests stay STANDARD):
GLACIER (Flexible Retrieval) after `glacier_after_days`, DEEP_ARCHIVE after `deep_archive_after_days`, and
`TransitionDefaultMinimumObjectSize = varies_by_storage_class` so objects under 128 KB (a month of weather is a
few KB) move to Glacier too instead of being left behind by S3's default. For everything under the prefix:
incomplete multipart uploads aborted after `abort_multipart_after_days`, noncurrent versions (a month archived
again after late rows) expired after `noncurrent_expire_after_days`. Plus versioning on, every public-access
block on, default encryption (SSE-S3, or SSE-KMS with `kms_key_id`), and a bucket policy denying non-TLS requests.

`validate` keeps the numbers inside S3's own rules: Glacier Flexible bills at least 90 days and Deep Archive 180,
so nothing is scheduled to move (or expire) sooner than that after its previous move, and no transition happens
before a month can still be rewritten by late rows (`rewrite_window_days`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from tracker.archive.store import default_prefix

GLACIER_MINIMUM_DAYS = 90
DEEP_ARCHIVE_MINIMUM_DAYS = 180
# what a server is known not to store or return; the drift check names these instead of comparing them
SERVER_GAPS = {
    "aws": frozenset(),
    # moto 5 stores lifecycle rules but returns TransitionDefaultMinimumObjectSize=all_storage_classes_128K
    # whatever was set (and drops ObjectSizeGreaterThan filters): the size rule cannot be read back there
    "moto": frozenset({"TransitionDefaultMinimumObjectSize"}),
}


class PolicyError(ValueError):
    """The configured policy breaks S3's rules (minimum storage durations, rewrite window)."""


class PolicyDrift(RuntimeError):
    """What the bucket holds differs from the policy in code."""


@dataclass(frozen=True)
class ArchivePolicy:
    prefix: str = ""
    glacier_after_days: int = 90
    deep_archive_after_days: int = 270
    abort_multipart_after_days: int = 7
    noncurrent_expire_after_days: int = 365
    rewrite_window_days: int = 60      # a month may be re-archived (late rows) this long after it was written
    kms_key_id: str | None = None      # SSE-KMS with this key; None: SSE-S3 (AES256)
    require_tls: bool = True

    @classmethod
    def from_env(cls, endpoint_url: str | None = None) -> ArchivePolicy:
        """Defaults, overridden by TRACKER_ARCHIVE_{GLACIER_DAYS,DEEP_ARCHIVE_DAYS,ABORT_MULTIPART_DAYS,
        NONCURRENT_DAYS,REWRITE_WINDOW_DAYS,KMS_KEY_ID}. A plain-http endpoint (the local moto) cannot satisfy a
        deny-non-TLS policy (moto enforces it: every request would be refused), so it is left out there."""
        env = os.environ

        def days(name: str, default: int) -> int:
            return int(env.get(f"TRACKER_ARCHIVE_{name}", default))

        return cls(prefix=default_prefix(), glacier_after_days=days("GLACIER_DAYS", cls.glacier_after_days),
                   deep_archive_after_days=days("DEEP_ARCHIVE_DAYS", cls.deep_archive_after_days),
                   abort_multipart_after_days=days("ABORT_MULTIPART_DAYS", cls.abort_multipart_after_days),
                   noncurrent_expire_after_days=days("NONCURRENT_DAYS", cls.noncurrent_expire_after_days),
                   rewrite_window_days=days("REWRITE_WINDOW_DAYS", cls.rewrite_window_days),
                   kms_key_id=env.get("TRACKER_ARCHIVE_KMS_KEY_ID") or None,
                   require_tls=not (endpoint_url or "").startswith("http://"))

    @property
    def root(self) -> str:
        return (self.prefix or default_prefix()).strip("/") + "/"

    def validate(self) -> None:
        problems = []
        if self.glacier_after_days < self.rewrite_window_days:
            problems.append(f"GLACIER after {self.glacier_after_days} days, but a month can be rewritten for "
                            f"{self.rewrite_window_days} days (late rows): it would pay Glacier's 90-day minimum "
                            "for a version replaced soon after")
        if self.deep_archive_after_days - self.glacier_after_days < GLACIER_MINIMUM_DAYS:
            problems.append(f"DEEP_ARCHIVE after {self.deep_archive_after_days} days is less than "
                            f"{GLACIER_MINIMUM_DAYS} days after GLACIER ({self.glacier_after_days}): Glacier "
                            "Flexible Retrieval bills 90 days at least")
        if self.noncurrent_expire_after_days < DEEP_ARCHIVE_MINIMUM_DAYS:
            problems.append(f"noncurrent versions expire after {self.noncurrent_expire_after_days} days: a version "
                            f"already in DEEP_ARCHIVE bills {DEEP_ARCHIVE_MINIMUM_DAYS} days at least")
        if self.abort_multipart_after_days < 1:
            problems.append("incomplete multipart uploads must be aborted after 1 day or more")
        if problems:
            raise PolicyError("archive policy: " + "; ".join(problems))

    # ------------------------------------------------------------------ the desired bucket configuration
    def lifecycle(self) -> dict[str, Any]:
        return {"Rules": [
            {"ID": "tracker-data-to-glacier", "Status": "Enabled",
             "Filter": {"And": {"Prefix": self.root, "Tags": [{"Key": "tracker-archive", "Value": "data"}]}},
             "Transitions": [{"Days": self.glacier_after_days, "StorageClass": "GLACIER"},
                             {"Days": self.deep_archive_after_days, "StorageClass": "DEEP_ARCHIVE"}]},
            {"ID": "tracker-housekeeping", "Status": "Enabled", "Filter": {"Prefix": self.root},
             "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": self.abort_multipart_after_days},
             "NoncurrentVersionExpiration": {"NoncurrentDays": self.noncurrent_expire_after_days}},
        ]}

    def encryption(self) -> dict[str, Any]:
        default = {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": self.kms_key_id} if self.kms_key_id else \
            {"SSEAlgorithm": "AES256"}
        return {"Rules": [{"ApplyServerSideEncryptionByDefault": default, "BucketKeyEnabled": bool(self.kms_key_id)}]}

    def bucket_policy(self, bucket: str) -> dict[str, Any] | None:
        if not self.require_tls:
            return None
        return {"Version": "2012-10-17", "Statement": [{
            "Sid": "TrackerDenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}

    def desired(self, bucket: str) -> dict[str, Any]:
        return {"Versioning": "Enabled",
                "PublicAccessBlock": {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                                      "RestrictPublicBuckets": True},
                "Encryption": self.encryption(),
                "Lifecycle": self.lifecycle(),
                "TransitionDefaultMinimumObjectSize": "varies_by_storage_class",
                "Policy": self.bucket_policy(bucket)}


def apply_policy(s3: Any, bucket: str, policy: ArchivePolicy) -> None:
    """Put every setting of the policy on the bucket (idempotent)."""
    policy.validate()
    want = policy.desired(bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=want["PublicAccessBlock"])
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=want["Encryption"])
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=want["Lifecycle"],
                                          TransitionDefaultMinimumObjectSize=want["TransitionDefaultMinimumObjectSize"])
    if want["Policy"] is not None:
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(want["Policy"]))
    else:
        try:
            s3.delete_bucket_policy(Bucket=bucket)
        except Exception:  # noqa: BLE001, S110 - no policy to delete
            pass


def _code(exc: Exception) -> str:
    return getattr(exc, "response", {}).get("Error", {}).get("Code", "")


def read_back(s3: Any, bucket: str) -> dict[str, Any]:
    """What the bucket holds, in the shape of ArchivePolicy.desired (missing settings are None)."""
    got: dict[str, Any] = {"Versioning": s3.get_bucket_versioning(Bucket=bucket).get("Status")}
    try:
        got["PublicAccessBlock"] = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    except Exception as exc:
        if _code(exc) != "NoSuchPublicAccessBlockConfiguration":
            raise
        got["PublicAccessBlock"] = None
    try:
        got["Encryption"] = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    except Exception as exc:
        if _code(exc) != "ServerSideEncryptionConfigurationNotFoundError":
            raise
        got["Encryption"] = None
    try:
        lifecycle = s3.get_bucket_lifecycle_configuration(Bucket=bucket)
        got["Lifecycle"] = {"Rules": lifecycle.get("Rules", [])}
        got["TransitionDefaultMinimumObjectSize"] = lifecycle.get("TransitionDefaultMinimumObjectSize")
    except Exception as exc:
        if _code(exc) != "NoSuchLifecycleConfiguration":
            raise
        got["Lifecycle"], got["TransitionDefaultMinimumObjectSize"] = None, None
    try:
        got["Policy"] = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    except Exception as exc:
        if _code(exc) != "NoSuchBucketPolicy":
            raise
        got["Policy"] = None
    return got


def _normal(value: Any) -> Any:
    """Order-insensitive where S3 does not keep order (rules by ID, lists of dicts), else as is."""
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        items = [_normal(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    return value


def drift(s3: Any, bucket: str, policy: ArchivePolicy, server: str = "aws") -> list[str]:
    """Every setting whose read-back differs from the policy, one line each ([] = none)."""
    want, got = policy.desired(bucket), read_back(s3, bucket)
    gaps = SERVER_GAPS.get(server, frozenset())
    out = []
    for name, value in want.items():
        if name in gaps:
            continue
        if _normal(value) != _normal(got.get(name)):
            out.append(f"{name}: bucket has {json.dumps(got.get(name), sort_keys=True)}, policy says "
                       f"{json.dumps(value, sort_keys=True)}")
    return out


def check_policy(s3: Any, bucket: str, policy: ArchivePolicy, server: str = "aws") -> list[str]:
    """Raise PolicyDrift listing every difference; returns the settings not checkable on this server."""
    problems = drift(s3, bucket, policy, server)
    if problems:
        raise PolicyDrift(f"s3://{bucket} drifted from the archive policy:\n  " + "\n  ".join(problems))
    return sorted(SERVER_GAPS.get(server, frozenset()))


def server_kind(endpoint_url: str | None) -> str:
    """`moto` for the local stack's S3 (TRACKER_S3_SERVER overrides), else `aws`."""
    from tracker import settings

    if kind := os.environ.get("TRACKER_S3_SERVER"):
        return kind
    return "moto" if endpoint_url and endpoint_url.rstrip("/") == settings.s3_endpoint() else "aws"
