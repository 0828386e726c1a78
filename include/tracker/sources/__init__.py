"""Source API clients: one subpackage per source, all built on `tracker.http`."""
