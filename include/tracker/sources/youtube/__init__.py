"""YouTube and YouTube Music watch history from Google Takeout (`watch-history.json`)."""

from tracker.sources.youtube.parser import Watch, find_files, parse, video_id

__all__ = ["Watch", "find_files", "parse", "video_id"]
