"""Netflix viewing activity from the account's GDPR data export (`ViewingActivity.csv`)."""

from tracker.sources.netflix.parser import HEADER, TitleParts, Viewing, find_files, parse, split_title

__all__ = ["HEADER", "TitleParts", "Viewing", "find_files", "parse", "split_title"]
