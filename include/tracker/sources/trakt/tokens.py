"""A private JSON file holding the Trakt OAuth tokens: `<state_dir>/tokens/trakt.json`, mode 0600, written
atomically (temp file in the same folder, fsync, rename) so a crash never leaves half a token."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from tracker import settings
from tracker.sources.trakt.models import TraktToken


def default_path() -> Path:
    return settings.state_dir() / "tokens" / "trakt.json"


class TokenStore:
    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path else default_path()

    def load(self) -> TraktToken | None:
        """The stored token, or None when there is none yet."""
        try:
            return TraktToken.from_json(json.loads(self.path.read_text()))
        except FileNotFoundError:
            return None

    def save(self, token: TraktToken) -> Path:
        folder = self.path.parent
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{self.path.name}.", suffix=".tmp")  # created 0600
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(token.to_json(), handle, indent=2)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return self.path
