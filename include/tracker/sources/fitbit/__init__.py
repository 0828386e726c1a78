"""Fitbit data shared by its two sources, the Google Health API (sources/google_health) and the Fitbit
export (sources/fitbit_export): the raw tables both load into (tables.py), told apart by their `source`."""
