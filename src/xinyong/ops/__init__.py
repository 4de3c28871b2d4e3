"""Operations: logs, configuration checks and serving (docs/operations.md)."""
