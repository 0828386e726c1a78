"""The warehouse archive: raw tables → Parquet (zstd) on S3 per month of their event time, with manifests
written only after every object is read back and verified, a bucket policy kept as code and checked for drift,
and restores that prove themselves (the restored rows' canonical digest equals the manifest's).

Modules: tables (what is archived), canonical (the rows' canonical content and `fingerprint`), store (S3 layout,
verified uploads, manifests), export (archive), restore (plan, retrieval, load, verify), policy (lifecycle and
bucket settings, drift), first_run (the offer to restore an empty warehouse), prune (off by default).
Nothing here imports Airflow; the DAGs and the CLI call these functions with a boto3 client.
"""
