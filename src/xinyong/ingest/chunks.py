"""Reading and validating a department file, chunk by chunk, in this process or in a helper.

Validation is pure CPU work and the store's writes are mostly I/O and C, so on a large file a
helper process reads and validates while this process writes: the two overlap on two cores. The
helper is an implementation detail: both paths yield the same chunks, and a test holds them to
the same store contents.
"""

from __future__ import annotations

import gc
import hashlib
import io
import logging
import multiprocessing
import pickle
import queue
import threading
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from multiprocessing.connection import Connection
from operator import attrgetter
from pathlib import Path
from typing import Any

from xinyong.domain.catalog import Catalog
from xinyong.domain.errors import FileRefused
from xinyong.domain.identifiers import IdentifierVault
from xinyong.domain.records import Problem, RowValidator, ValidRow
from xinyong.ingest.readers import RawChunk, ReadOptions, read_chunks
from xinyong.ingest.summary import Reading, add_counts

log = logging.getLogger(__name__)
QUEUED = 3
Digest = Callable[[str], None]  # receives the SHA-256 (hex) of the whole file once it is read


@dataclass
class Chunk:
    """Consecutive rows of a file: those that passed validation, and the problems of the rest."""

    rows_read: int
    valid: list[ValidRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    reading: Reading = field(default_factory=dict)  # encoding, mapping, dropped and normalised counts (summary.py)
    # The identifier fragments of the numbers that failed their checksum, by keyed hash (a row of
    # `link_fragments` each), computed here while the number is in hand: match review reads them.
    fragments: dict[str, dict[str, object]] = field(default_factory=dict)

    def pack(self) -> tuple[int, list[tuple[Any, ...]], list[Problem], Reading, dict[str, dict[str, object]]]:
        """A form that is quick to send to another process: the valid rows as columns (see
        _chunk_message), plain tuples that pickle several times faster than named ones."""
        return self.rows_read, list(zip(*self.valid, strict=True)), self.problems, self.reading, self.fragments

    @classmethod
    def unpack(
        cls, packed: tuple[int, list[tuple[Any, ...]], list[Problem], Reading, dict[str, dict[str, object]]]
    ) -> Chunk:
        rows_read, columns, problems, reading, fragments = packed
        return cls(rows_read, list(map(_VALID_ROW, zip(*columns, strict=True))), problems, reading, fragments)


_VALID_ROW = partial(tuple.__new__, ValidRow)  # ValidRow._make without a Python call per row


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a file is read and stored; as it was afterwards.

    Ingestion allocates millions of short-lived tuples and strings that form no cycles (reference
    counting frees them), yet each allocation counts towards the collector's next pass over all
    live objects, which made up a tenth of the time. The little cyclic garbage that a batch
    makes is collected once it ends.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def validate_chunk(validator: RowValidator, raw: RawChunk) -> Chunk:
    """Validate the rows of a chunk: the fast path over its columns, the general path for the rest."""
    chunk = Chunk(raw.rows_read, problems=list(raw.problems), reading=raw.reading)
    if not raw.lines:
        return chunk
    columns = raw.column_values()
    results = validator.fast_rows(raw.lines, columns, text_only=raw.text_only)
    if None in results:
        for i, fast in enumerate(results):
            if fast is None:
                out = validator.general(raw.lines[i], raw.row(i))
                if isinstance(out, list):
                    chunk.problems.extend(out)
                else:
                    results[i] = out
        if raw.problems:
            chunk.problems.sort(key=attrgetter("line"))  # stable: a row's problems keep their order
    chunk.valid = [r for r in results if r is not None]
    add_counts(chunk.reading, "normalised", validator.take_normalised())
    chunk.fragments = _fragments(validator, chunk.valid)
    return chunk


def _fragments(validator: RowValidator, rows: list[ValidRow]) -> dict[str, dict[str, object]]:
    """The fragments of this chunk's numbers that failed their checksum (each distinct number once)."""
    written = validator.unresolved_numbers
    hashes = {r.id_hash for r in rows if r.unresolved is not None and r.id_hash in written}
    if not hashes:
        return {}
    from xinyong.resolve.fragments import stored_fragments  # the linking package only when a batch needs it

    return {h: stored_fragments(validator.vault, *written[h]) for h in hashes if h is not None}


def local_chunks(
    path: Path,
    fmt: str,
    validator: RowValidator,
    chunk_rows: int,
    digest: Digest,
    options: ReadOptions | None = None,
) -> Generator[Chunk, None, None]:
    """Read and validate in this process."""
    sha = hashlib.sha256()
    raws = read_chunks(path, fmt, validator, chunk_rows, sha, options)
    try:
        for raw in raws:
            yield validate_chunk(validator, raw)
    finally:
        raws.close()
    digest(sha.hexdigest())


@dataclass(frozen=True)
class Job:
    """What a helper process needs to read and validate one file (pickled to a spawned helper; a
    forked one has it already)."""

    path: Path
    fmt: str
    catalog: Catalog
    source_id: str
    vault: IdentifierVault
    today: date
    chunk_rows: int
    options: ReadOptions = field(default_factory=ReadOptions)  # encoding and sheet, when given


# A chunk travels as this byte and the pickled chunk (a pickle's first byte is never this one);
# the other messages are pickled tuples.
_CHUNK = b"C"


def _chunk_message(chunk: Chunk) -> bytes:
    """A chunk as the helper sends it: its valid rows as columns, pickled with the memo of the
    objects already written.

    With the memo a repeated object (a column's dates, the record type, the scheme: the validator
    hands out one string for each distinct value) is written once and read back once as the same
    object. Columns keep the memo small, where rows made it a row's tuple per row. On a large file
    the writing process is the slower of the two, and this moves work from it to the helper: the
    memo costs the helper more to write than it saves, and saves the writer more than that.
    """
    f = io.BytesIO()
    f.write(_CHUNK)
    pickle.Pickler(f, pickle.HIGHEST_PROTOCOL).dump(chunk.pack())
    return f.getvalue()


def _work(out: Connection, job: Job, parents_end: Connection | None = None) -> None:
    """Helper process: stream validated chunks to the parent; stop when the parent goes away.

    A forked helper holds a copy of the parent's end of the pipe, which it closes first: while
    any process holds it open, a helper whose parent died would wait on a full pipe for ever
    instead of learning that nobody reads.
    """
    if parents_end is not None:
        parents_end.close()
        gc.enable()  # as in a spawned helper: the parent forked it with its collector paused
    try:
        validator = RowValidator(job.catalog, job.source_id, job.vault, job.today)
        digest: list[str] = []
        with gc_paused():
            for chunk in local_chunks(job.path, job.fmt, validator, job.chunk_rows, digest.append, job.options):
                out.send_bytes(_chunk_message(chunk))
        out.send(("done", digest[0]))
    except (BrokenPipeError, ConnectionResetError):
        return  # the parent died or gave up; its transaction is rolled back, nothing to do
    except FileRefused as exc:
        out.send(("refused", str(exc)))
    except Exception as exc:  # noqa: BLE001 - any failure must reach the parent, which aborts the batch
        out.send(("failed", f"{type(exc).__name__}: {exc}"))
    finally:
        out.close()


def _start_method() -> str:
    """How to start the helper: 'fork' where this process runs a single thread, else 'spawn'.

    A forked helper starts at once with everything this process has imported and loaded; a
    spawned one starts a new interpreter, imports xinyong and unpickles the catalog, while this
    process waits for its first chunk (measured: 0.27 s to the first chunk of 5,000 rows instead of
    0.11 s; a file of 40,000 rows takes about 0.6 s).
    Forking is safe only where no other thread could hold a lock the copy would inherit taken
    (a server's threads, an engine's native worker threads), so those processes spawn.
    """
    try:
        threads = sum(1 for _ in Path("/proc/self/task").iterdir())  # native threads too, unlike `threading`
    except OSError:
        return "spawn"  # no /proc: cannot tell
    return "fork" if threads == 1 and "fork" in multiprocessing.get_all_start_methods() else "spawn"


def helper_chunks(job: Job, digest: Digest, start_method: str | None = None) -> Generator[Chunk, None, None]:
    """Read and validate in a helper process; yield its chunks in file order.

    `start_method`: 'fork' or 'spawn' (default: `_start_method()`).
    """
    path = job.path
    method = start_method or _start_method()
    ctx = multiprocessing.get_context("fork") if method == "fork" else multiprocessing.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(
        target=_work,
        args=(send, job, receive if method == "fork" else None),
        name=f"xinyong-validate-{path.name}",
        daemon=True,
    )
    proc.start()
    log.info("validating %s in helper process %s (%s)", path.name, proc.pid, method)
    send.close()
    # A pipe holds only a few kilobytes: without a reader the helper would wait for this process
    # to finish storing each chunk before validating the next. A thread receives eagerly into a
    # small queue, so validation runs ahead by up to QUEUED chunks (bounded memory). It receives
    # a chunk's bytes only: the writing thread unpickles it. Unpickling in the receiving thread
    # held the interpreter's lock for milliseconds at a time while the writing thread gives it
    # up and takes it back around every row it inserts, and the writing thread waited that long
    # each time (measured: 2.3 s longer storing a million rows, for 1 s of unpickling).
    inbox: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=QUEUED)
    stop = threading.Event()

    def receive_all() -> None:
        while not stop.is_set():
            try:
                data = receive.recv_bytes()
                message = ("chunk", data) if data[:1] == _CHUNK else pickle.loads(data)  # noqa: S301 - our helper's
            except (EOFError, OSError):
                message = ("died", None)
            except Exception as exc:  # noqa: BLE001 - the writing thread must hear of it, or it waits for ever
                message = ("failed", f"receiving from the helper: {type(exc).__name__}: {exc}")
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
                chunk = Chunk.unpack(pickle.loads(memoryview(payload)[1:]))  # noqa: S301 - our helper's
                del payload  # the bytes are not needed while the chunk is stored
                yield chunk
            elif kind == "done":
                digest(payload)
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
