"""The one writer of private files (secrets, token files, the Airflow password file, pg_hba.conf).

`write_private` creates a temp file with mode 0600 from its first byte (never write-then-chmod, which leaves
a window in which a permissive umask shows the secret to other accounts), fsyncs it, renames it over the
target and fsyncs the folder: a reader sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def write_private(path: Path, text: str, *, owner: str | None = None) -> Path:
    """Replace `path` atomically with `text`, mode 0600 (owned by OS user `owner` when given)."""
    import shutil

    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if owner:
            shutil.chown(tmp, owner, owner)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return path
