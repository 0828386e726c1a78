"""Open-Meteo hourly weather (archive + forecast APIs), requested in UTC."""

from tracker.sources.open_meteo.client import OpenMeteoClient
from tracker.sources.open_meteo.models import HOURLY_VARIABLES, HourlyRow

__all__ = ["HOURLY_VARIABLES", "HourlyRow", "OpenMeteoClient"]
