"""The warehouse: schemas and raw tables (ddl/), COPY loaders, the quarantine."""
