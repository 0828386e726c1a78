"""Last.fm: the user's scrobbles from `user.getRecentTracks`."""

from tracker.sources.lastfm.client import LastfmClient
from tracker.sources.lastfm.errors import LastfmHttp
from tracker.sources.lastfm.models import Scrobble

__all__ = ["LastfmClient", "LastfmHttp", "Scrobble"]
