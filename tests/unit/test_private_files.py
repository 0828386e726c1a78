"""The one writer of private files: 0600 from the first byte whatever the umask, atomic replace."""

from __future__ import annotations

import os
import stat

from tracker.private_files import write_private


def test_written_private_under_a_permissive_umask_and_replaced_atomically(tmp_path):
    old = os.umask(0)
    try:
        target = tmp_path / "deep" / "secrets.json"
        write_private(target, '{"a": 1}')
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
        assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
        inode = target.stat().st_ino
        write_private(target, '{"a": 2}')
        assert target.read_text() == '{"a": 2}' and target.stat().st_ino != inode  # a new file renamed over
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
        assert [p.name for p in target.parent.iterdir()] == ["secrets.json"]  # no temp file left behind
    finally:
        os.umask(old)
