"""Tracker's thin Airflow layer: hooks that turn connections into `tracker` clients, and the UI plugin."""
