"""Data CI: readers, profiles, schemas, validation and drift, on Polars."""
