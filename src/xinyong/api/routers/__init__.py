"""Routers per audience: checks (consumers, anyone), records (sources), me (subjects), public, review."""
