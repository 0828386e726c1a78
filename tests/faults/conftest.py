"""The fault suite: hostile inputs and injected faults against the real PostgreSQL, broker and S3 server.

Every test here records one row with the `fault` fixture (tests/conftest.py) — case, what we expect, what
happened, the rows of good data before and after, and how many of them were lost. The rows are printed as
one table at the end of the session, ending with "N hostile cases, M rows lost". `lost` must be computed by
the test from the data (expected good rows minus good rows found), never typed in.
"""
