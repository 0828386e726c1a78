"""Spotify Extended Streaming History (the privacy export's per-play JSON files)."""

from tracker.sources.spotify.parser import FILE_PATTERNS, Play, find_files, parse

__all__ = ["FILE_PATTERNS", "Play", "find_files", "parse"]
