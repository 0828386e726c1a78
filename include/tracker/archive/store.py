"""S3 side of the archive: object layout, verified uploads (multipart for big files), manifests.

Layout (`prefix` defaults to `warehouse`):
    s3://<bucket>/<prefix>/<schema>.<table>/year=YYYY/month=MM/part-0.parquet     (tag tracker-archive=data)
    s3://<bucket>/<prefix>/<schema>.<table>/year=YYYY/month=MM/_manifest.json     (tag tracker-archive=manifest)
    s3://<bucket>/<prefix>/<schema>.<table>/all/…                                  (tables archived whole)
Keys are fixed per partition: with bucket versioning on, a changed partition is a new version of the same keys,
and the manifest names the exact object versions it describes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATA_TAG = "tracker-archive=data"
MANIFEST_TAG = "tracker-archive=manifest"
PART_SIZE = 8 * 1024 * 1024          # multipart above this (S3's minimum part is 5 MiB)
MANIFEST = "_manifest.json"


def default_prefix() -> str:
    return os.environ.get("TRACKER_ARCHIVE_PREFIX", "warehouse").strip("/")


def default_bucket() -> str:
    from tracker import settings

    return os.environ.get("TRACKER_ARCHIVE_BUCKET", settings.BUCKET)


def client_from_env() -> Any:
    """A boto3 S3 client: TRACKER_S3_ENDPOINT (or the local stack's moto) with the stack's keys, or — with
    TRACKER_S3_ENDPOINT=aws — the real AWS S3 with boto3's own credential chain."""
    import boto3

    from tracker import settings

    endpoint = os.environ.get("TRACKER_S3_ENDPOINT", settings.s3_endpoint())
    region = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    if endpoint == "aws":
        return boto3.client("s3", region_name=region)
    secrets = settings.Secrets.load_or_create()
    return boto3.client("s3", endpoint_url=endpoint, region_name=region,
                        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", secrets.s3_access_key),
                        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", secrets.s3_secret_key))


def partition_prefix(prefix: str, qualified: str, partition: str) -> str:
    if partition == "all":
        return f"{prefix}/{qualified}/all"
    return f"{prefix}/{qualified}/year={partition[:4]}/month={partition[5:7]}"


def partition_of_key(key: str) -> str | None:
    """`YYYY-MM` or `all` from an object key of the layout; None for anything else."""
    parts = key.split("/")
    if "all" in parts:
        return "all"
    year = next((p[5:] for p in parts if p.startswith("year=")), None)
    month = next((p[6:] for p in parts if p.startswith("month=")), None)
    return f"{year}-{month}" if year and month else None


class VerificationError(RuntimeError):
    """An object or manifest read back from S3 is not what was written."""


@dataclass(frozen=True)
class FileDigest:
    size: int
    sha256: str          # hex, whole file
    md5: str             # hex, whole file
    parts: tuple[str, ...]   # hex sha256 of each multipart part ((): single PUT)


def digest_file(path: Path, part_size: int = PART_SIZE) -> FileDigest:
    whole, md5, parts, size = hashlib.sha256(), hashlib.md5(), [], 0
    multipart = path.stat().st_size > part_size
    with path.open("rb") as f:
        while chunk := f.read(part_size):
            whole.update(chunk)
            md5.update(chunk)
            size += len(chunk)
            if multipart:
                parts.append(hashlib.sha256(chunk).hexdigest())
    return FileDigest(size, whole.hexdigest(), md5.hexdigest(), tuple(parts))


def _b64(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode()


def expected_checksum(d: FileDigest) -> str:
    """S3's ChecksumSHA256 of the object: of the bytes (single PUT) or of the parts' digests (multipart)."""
    if not d.parts:
        return _b64(d.sha256)
    return _b64(hashlib.sha256(b"".join(bytes.fromhex(p) for p in d.parts)).hexdigest())


def upload_file(s3: Any, bucket: str, key: str, path: Path, *, tags: str = DATA_TAG,
                part_size: int = PART_SIZE) -> dict[str, Any]:
    """Upload `path` (SHA-256 checked by S3 per request; multipart above `part_size`), then read the object's
    size and checksum back; returns the object's description for the manifest. A failed multipart upload is
    aborted (the bucket's lifecycle rule aborts what a killed process leaves behind)."""
    d = digest_file(path, part_size)
    if not d.parts:
        with path.open("rb") as f:
            put = s3.put_object(Bucket=bucket, Key=key, Body=f, ChecksumSHA256=_b64(d.sha256), Tagging=tags)
        version = put.get("VersionId")
    else:
        upload = s3.create_multipart_upload(Bucket=bucket, Key=key, ChecksumAlgorithm="SHA256", Tagging=tags)
        upload_id, done = upload["UploadId"], []
        try:
            with path.open("rb") as f:
                for number, part_sha in enumerate(d.parts, 1):
                    body = f.read(part_size)
                    r = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body,
                                       ChecksumSHA256=_b64(part_sha))
                    done.append({"PartNumber": number, "ETag": r["ETag"], "ChecksumSHA256": _b64(part_sha)})
            complete = s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id,
                                                    MultipartUpload={"Parts": done})
        except BaseException:
            try:
                s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
            except Exception:  # noqa: BLE001, S110 - the original error matters; lifecycle aborts leftovers
                pass
            raise
        version = complete.get("VersionId")
    verify_object(s3, bucket, key, version, d)
    return {"key": key, "version_id": version, "size": d.size, "sha256": d.sha256, "md5": d.md5,
            "parts": len(d.parts) or 1, "s3_checksum_sha256": expected_checksum(d)}


def verify_object(s3: Any, bucket: str, key: str, version: str | None, d: FileDigest) -> None:
    """The stored object's size and SHA-256 checksum (else its ETag = MD5 of a single PUT) match the file."""
    head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED", **_version(version))
    if head["ContentLength"] != d.size:
        raise VerificationError(f"s3://{bucket}/{key}: {head['ContentLength']} bytes stored, {d.size} written")
    stored = (head.get("ChecksumSHA256") or "").split("-")[0]
    if stored:
        if stored != expected_checksum(d):
            raise VerificationError(f"s3://{bucket}/{key}: SHA-256 checksum {stored} != {expected_checksum(d)}")
        return
    etag = head.get("ETag", "").strip('"')
    if not d.parts and etag == d.md5:
        return
    # no checksum and no plain-MD5 ETag (SSE-KMS, an older server): read the object back and hash it
    body = s3.get_object(Bucket=bucket, Key=key, **_version(version))["Body"]
    h = hashlib.sha256()
    for chunk in iter(lambda: body.read(1 << 20), b""):
        h.update(chunk)
    if h.hexdigest() != d.sha256:
        raise VerificationError(f"s3://{bucket}/{key}: read back sha256 {h.hexdigest()} != {d.sha256}")


def _version(version: str | None) -> dict[str, str]:
    return {"VersionId": version} if version and version != "null" else {}


def write_manifest(s3: Any, bucket: str, key: str, manifest: dict[str, Any]) -> str | None:
    """PUT the manifest (checked by S3), read it back byte for byte; returns its version id."""
    body = json.dumps(manifest, indent=2, sort_keys=True).encode()
    sha = hashlib.sha256(body).hexdigest()
    put = s3.put_object(Bucket=bucket, Key=key, Body=body, ChecksumSHA256=_b64(sha), Tagging=MANIFEST_TAG,
                        ContentType="application/json")
    version = put.get("VersionId")
    back = s3.get_object(Bucket=bucket, Key=key, **_version(version))["Body"].read()
    if back != body:
        raise VerificationError(f"s3://{bucket}/{key}: manifest read back differs from what was written")
    return version


def read_manifest(s3: Any, bucket: str, key: str, version: str | None = None) -> dict[str, Any] | None:
    """The manifest at `key` (latest version unless given), or None when there is none."""
    try:
        got = s3.get_object(Bucket=bucket, Key=key, **_version(version))
        body = got["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    except Exception as exc:  # botocore ClientError: 404 without a NoSuchKey code on HEAD-like paths
        if getattr(exc, "response", {}).get("Error", {}).get("Code") in {"NoSuchKey", "404", "NoSuchVersion"}:
            return None
        raise
    manifest = json.loads(body)
    manifest["_version_id"] = got.get("VersionId") or version
    return manifest


def manifest_keys(s3: Any, bucket: str, prefix: str, qualified: str | None = None) -> Iterator[str]:
    """Every manifest key under the prefix (of one table when `qualified` is given)."""
    root = f"{prefix}/{qualified}/" if qualified else f"{prefix}/"
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=root):
        for obj in page.get("Contents", []):
            if obj["Key"].endswith("/" + MANIFEST):
                yield obj["Key"]


def download(s3: Any, bucket: str, obj: dict[str, Any], path: Path) -> None:
    """Fetch one archived object version to `path` and check its sha256 against the manifest."""
    body = s3.get_object(Bucket=bucket, Key=obj["key"], **_version(obj.get("version_id")))["Body"]
    h = hashlib.sha256()
    with path.open("wb") as f:
        for chunk in iter(lambda: body.read(1 << 20), b""):
            h.update(chunk)
            f.write(chunk)
    if h.hexdigest() != obj["sha256"]:
        raise VerificationError(f"s3://{bucket}/{obj['key']}: sha256 {h.hexdigest()} != manifest {obj['sha256']}")
