"""Batch engines: the scoring pipeline executed set-based, embedded (DuckDB) or distributed (Spark)."""
