"""Fitbit account / Google Takeout export → raw tables (`tracker import fitbit-export PATH`).

layout.py finds the files (zip or folder, any known root), parsers.py reads them (bounded memory, bad
records → quarantine; heart_rate.py is the vectorised heart-rate scanner, sleep.py the sleep sessions,
records.py the shared readers), timezones.py decides how heart-rate times are to be read and converts naive
local times (DST rules documented there), tables.py holds the fast heart-rate writer (the raw tables, shared
with the Google Health API, are in tracker.sources.fitbit.tables), and importer.py ties them together
idempotently.
"""

from tracker.sources.fitbit_export.importer import ImportSummary, import_export

__all__ = ["ImportSummary", "import_export"]
