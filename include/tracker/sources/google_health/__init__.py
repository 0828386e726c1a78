"""Google Health API v4 (successor of the Fitbit Web API): live sync of one user's data points and rollups."""

from tracker.sources.google_health.client import CREDENTIAL, DATA_TYPES, GoogleHealthClient, Kind, RateLimiter
from tracker.sources.google_health.models import DailyRollupDataPoint, DataPoint, RollupDataPoint, parse_data_point

__all__ = [
    "CREDENTIAL", "DATA_TYPES", "DailyRollupDataPoint", "DataPoint", "GoogleHealthClient", "Kind", "RateLimiter",
    "RollupDataPoint", "parse_data_point",
]
