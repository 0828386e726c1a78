"""The archive's S3 access inside Airflow: the amazon provider's S3Hook on connection `tracker_s3` → the boto3
client `tracker.archive` takes. Connection extras: `endpoint_url` (moto, MinIO; none for AWS), `region_name`,
`bucket` (default TRACKER_ARCHIVE_BUCKET, else tracker-archive)."""

from __future__ import annotations

from typing import Any

CONN_ID = "tracker_s3"


class ArchiveS3:
    """What the archive tasks need from the connection: a client, the bucket, and what kind of server it is."""

    def __init__(self, conn_id: str = CONN_ID) -> None:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook  # provider import: only when a task runs

        self.hook = S3Hook(aws_conn_id=conn_id)
        self.conn_id = conn_id

    @property
    def extra(self) -> dict[str, Any]:
        return self.hook.get_connection(self.conn_id).extra_dejson

    def client(self) -> Any:
        return self.hook.get_conn()

    @property
    def bucket(self) -> str:
        from tracker.archive.store import default_bucket

        return self.extra.get("bucket") or default_bucket()

    @property
    def endpoint_url(self) -> str | None:
        return self.extra.get("endpoint_url") or (self.extra.get("service_config", {}).get("s3", {})
                                                  .get("endpoint_url"))

    def policy(self) -> Any:
        from tracker.archive.policy import ArchivePolicy

        return ArchivePolicy.from_env(self.endpoint_url)

    @property
    def server(self) -> str:
        from tracker.archive.policy import server_kind

        return self.extra.get("server") or server_kind(self.endpoint_url)
