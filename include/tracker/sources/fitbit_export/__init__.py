"""Fitbit account / Google Takeout export → raw tables (`tracker import fitbit-export PATH`).

layout.py finds the files (zip or folder, any known root), parsers.py reads them (bounded memory, bad
records → quarantine), timezones.py decides how heart-rate times are to be read and converts naive local
times (DST rules documented there), tables.py holds the raw tables and the fast heart-rate writer, and
importer.py ties them together idempotently.
"""

from tracker.sources.fitbit_export.importer import ImportSummary, import_export

__all__ = ["ImportSummary", "import_export"]
