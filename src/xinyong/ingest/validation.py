"""Reading and validating a department file, chunk by chunk, in this process or in a helper.

Validation is pure CPU work and the store's writes are mostly I/O and C, so on a large file a
helper process reads and validates while this process writes: the two overlap on two cores. The
helper is an implementation detail: both paths yield the same chunks, and a test holds them to
the same store contents.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from xinyong.domain.catalog import Catalog
from xinyong.domain.errors import FileRefused
from xinyong.domain.identifiers import IdentifierVault
from xinyong.domain.records import Problem, RowValidator, ValidRow
from xinyong.ingest.readers import Row, read_rows

QUEUED = 3


@dataclass
class Chunk:
    """Consecutive rows of a file: those that passed validation, and the problems of the rest."""

    rows_read: int
    valid: list[ValidRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _batched(it: Iterator[tuple[int, Row]], size: int) -> Iterator[list[tuple[int, Row]]]:
    while batch := list(islice(it, size)):
        yield batch


def local_chunks(path: Path, fmt: str, validator: RowValidator, chunk_rows: int) -> Generator[Chunk, None, None]:
    """Read and validate in this process."""
    rows = read_rows(path, fmt, validator.header_problems, chunk_rows)
    try:
        for batch in _batched(rows, chunk_rows):
            chunk = Chunk(rows_read=len(batch))
            for line, row in batch:
                if isinstance(row, Problem):
                    chunk.problems.append(row)
                    continue
                out = validator.validate(line, row)
                if isinstance(out, list):
                    chunk.problems.extend(out)
                else:
                    chunk.valid.append(out)
            yield chunk
    finally:
        rows.close()


@dataclass(frozen=True)
class Job:
    """What a helper process needs to read and validate one file (it is pickled to the helper)."""

    path: Path
    fmt: str
    catalog: Catalog
    source_id: str
    vault: IdentifierVault
    today: date
    chunk_rows: int


def _work(out: Connection, job: Job) -> None:
    """Helper process: stream validated chunks to the parent; stop when the parent goes away."""
    try:
        validator = RowValidator(job.catalog, job.source_id, job.vault, job.today)
        for chunk in local_chunks(job.path, job.fmt, validator, job.chunk_rows):
            out.send(("chunk", chunk))
        out.send(("done", None))
    except (BrokenPipeError, ConnectionResetError):
        return  # the parent died or gave up; its transaction is rolled back, nothing to do
    except FileRefused as exc:
        out.send(("refused", str(exc)))
    except Exception as exc:  # noqa: BLE001 - any failure must reach the parent, which aborts the batch
        out.send(("failed", f"{type(exc).__name__}: {exc}"))
    finally:
        out.close()


def helper_chunks(job: Job) -> Generator[Chunk, None, None]:
    """Read and validate in a helper process; yield its chunks in file order."""
    path = job.path
    ctx = multiprocessing.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(
        target=_work,
        args=(send, job),
        name=f"xinyong-validate-{path.name}",
        daemon=True,
    )
    proc.start()
    send.close()
    # A pipe holds only a few kilobytes: without a reader the helper would wait for this process
    # to finish storing each chunk before validating the next. A thread receives eagerly into a
    # small queue, so validation runs ahead by up to QUEUED chunks (bounded memory).
    inbox: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=QUEUED)
    stop = threading.Event()

    def receive_all() -> None:
        while not stop.is_set():
            try:
                message = receive.recv()
            except (EOFError, OSError):
                message = ("died", None)
            while not stop.is_set():
                try:
                    inbox.put(message, timeout=0.2)
                    break
                except queue.Full:
                    continue
            if message[0] != "chunk":
                return

    receiver = threading.Thread(target=receive_all, name="xinyong-receive", daemon=True)
    receiver.start()
    try:
        while True:
            kind, payload = inbox.get()
            if kind == "chunk":
                yield payload
            elif kind == "done":
                return
            elif kind == "refused":
                raise FileRefused(payload)
            elif kind == "died":
                raise RuntimeError(f"{path.name}: the validating helper process stopped unexpectedly")
            else:
                raise RuntimeError(f"{path.name}: validation failed: {payload}")
    finally:
        stop.set()
        receive.close()
        proc.join(timeout=5)
        if proc.is_alive():
            proc.terminate()
            proc.join()
        receiver.join(timeout=5)
