"""The reject report of a batch: one CSV line per rejected row or unresolved record, written
beside the store, kept only when the batch commits and rejected or left something unresolved."""

from __future__ import annotations

import csv
from pathlib import Path

from xinyong.domain.records import Problem
from xinyong.ingest.summary import spreadsheet_safe


class RejectReport:
    """Reject report: one CSV line per rejected row or unresolved record, written beside the store."""

    def __init__(self, directory: Path, name: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.final = directory / name
        self.partial = directory / (name + ".partial")
        self._f = self.partial.open("w", encoding="utf-8", newline="")
        self._w = csv.writer(self._f)
        self._w.writerow(["line", "source_ref", "field", "outcome", "code", "message"])
        self.rows = 0

    def add(self, p: Problem, outcome: str) -> None:
        self._w.writerow(map(spreadsheet_safe, (p.line, p.source_ref or "", p.field or "", outcome, p.code, p.message)))
        self.rows += 1

    def finish(self, keep: bool) -> str | None:
        self._f.close()
        if keep and self.rows:
            self.partial.replace(self.final)
            return str(self.final)
        self.partial.unlink(missing_ok=True)
        return None
