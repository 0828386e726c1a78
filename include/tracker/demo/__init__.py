"""Local demo API server with deterministic fake data for the sources (no network, no credentials)."""
