"""The model registry: metadata in SQLite or PostgreSQL, bytes in a content-addressed blob store."""
