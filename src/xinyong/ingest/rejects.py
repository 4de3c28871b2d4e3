"""The reject report of a batch: one CSV line per rejected row or unresolved record, written
beside the store, kept only when the batch commits and rejected or left something unresolved.

The report is written as `NAME.partial` and is on disk, whole, before its batch commits; it takes
its final name once the batch has committed. A process that dies between the two leaves the
partial file of a committed batch: the next batch written into the same directory gives it its
final name (`settle_reports`), and removes the partial files of batches that never committed.
"""

from __future__ import annotations

import csv
import logging
import os
import re
from pathlib import Path

from sqlalchemy import Connection

from xinyong.domain.records import Problem
from xinyong.ingest.summary import spreadsheet_safe
from xinyong.store.ingest_repo import report_paths

log = logging.getLogger(__name__)
PARTIAL = ".partial"
# A report's name: its batch's clock stamp and id (a 64-bit key: at most 18 digits here, so that
# no file's name can ask the store about a number it cannot hold), then the source and the file.
_NAMED = re.compile(r"^\d{8}T\d{6}-batch(\d{1,18})-.+\.rejects\.csv$")


def report_name(stamp: str, batch_id: int, source_id: str, file_name: str) -> str:
    return f"{stamp}-batch{batch_id}-{source_id}-{file_name}.rejects.csv"


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

    def seal(self) -> None:
        """Put the report on disk, whole, before its batch commits (see the module's note); one
        without a line is removed when the batch ends, and is not synced."""
        self._f.flush()
        if self.rows:
            os.fsync(self._f.fileno())
        self._f.close()

    def finish(self, keep: bool) -> str | None:
        """Give the report its final name when its batch committed and it holds a line, else remove it."""
        if not self._f.closed:
            self._f.close()
        if keep and self.rows:
            self.partial.replace(self.final)
            return str(self.final)
        self.partial.unlink(missing_ok=True)
        return None


def settle_reports(conn: Connection, directory: Path) -> list[str]:
    """Give its final name to each partial report in `directory` whose batch committed, and remove
    those of batches that never did; the reports settled. Called by a batch that holds the
    ingestion lock, so no other batch is writing a report meanwhile."""
    if not directory.is_dir():
        return []
    found = {}
    for partial in directory.glob(f"*.rejects.csv{PARTIAL}"):
        named = _NAMED.match(partial.name.removesuffix(PARTIAL))
        if named is not None and partial.is_file():  # anything else is not ours to judge: left as it is
            found[partial] = int(named.group(1))
    if not found:
        return []
    stored = report_paths(conn, sorted(set(found.values())))
    settled = []
    for partial, batch_id in sorted(found.items()):
        final = partial.with_name(partial.name.removesuffix(PARTIAL))
        try:
            if stored.get(batch_id) is not None and Path(str(stored[batch_id])).name == final.name:
                partial.replace(final)
                settled.append(str(final))
            else:
                partial.unlink(missing_ok=True)
        except OSError as exc:  # housekeeping: it must not stop the batch that does it
            log.warning("reject report %s left as it is: %s", partial, exc)
    return settled
