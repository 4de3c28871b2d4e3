"""Group commit: many requests' writes, one transaction at a time, from one thread of their own.

A request hands its item to the committer and awaits it; the committer's thread takes every item
waiting, writes them in one transaction and tells each request when it is durable (or why it
failed). Under load one BEGIN, one audit-chain read and one COMMIT serve many requests; alone, a
request waits for nothing but its own transaction. The event loop never waits for a lock: only
the committer's thread does.

If a batch fails for a reason one item can cause (`retry_alone`, e.g. an integrity error), its
items are written again one by one, so that one bad item fails alone; any other failure (a lock
timeout, a lost connection) fails the whole batch at once rather than once per item.

At most `max_waiting` items wait at once: past that the store is not keeping up, and a new item
is refused at once with `Busy` (503 to a client, who may try again) rather than queued without
bound, holding its request's memory and answering ever later.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from xinyong.domain.errors import Busy

T = TypeVar("T")


@dataclass
class _Waiting(Generic[T]):
    item: T
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]
    told: bool = False  # under GroupCommitter._lock: an item is told (and uncounted) once


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():  # the request was cancelled; what it asked for was still written
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


class GroupCommitter(Generic[T]):
    def __init__(
        self,
        write: Callable[[Sequence[T]], None],
        *,
        name: str,
        retry_alone: tuple[type[Exception], ...] = (),
        max_batch: int = 256,
        max_waiting: int = 4096,
    ) -> None:
        self._write = write
        self._retry_alone = retry_alone
        self._name = name
        self._max_batch = max_batch
        self._max_waiting = max_waiting
        self._waiting = 0  # submitted and not yet told: under `_lock`
        self._queue: queue.SimpleQueue[_Waiting[T] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stopped = False

    @property
    def waiting(self) -> int:
        """Items submitted and not yet told how their write ended."""
        with self._lock:
            return self._waiting

    async def submit(self, item: T) -> None:
        """Write `item` in the next batch; return once it is committed, or raise why it was not."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._enqueue(_Waiting(item, loop, future))
        await future

    def stop(self) -> None:
        """Write what is waiting, then end the thread."""
        with self._lock:
            self._stopped = True
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join()

    def _enqueue(self, waiting: _Waiting[T]) -> None:
        # Under the lock, so that nothing can be queued behind the end marker `stop` puts.
        with self._lock:
            if self._stopped:
                raise RuntimeError(f"{self._name} has stopped")
            if self._waiting >= self._max_waiting:
                raise Busy(f"{self._max_waiting} writes are waiting for the store already: try again in a moment")
            self._waiting += 1
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._queue.put(waiting)

    def _run(self) -> None:
        batch: list[_Waiting[T]] = []
        try:
            self._serve(batch)
        except BaseException as exc:  # the thread is ending: nobody may be left waiting
            for waiting in batch:
                self._tell(waiting, exc if isinstance(exc, Exception) else RuntimeError(f"{self._name} ended"))
            self._replace()
            raise

    def _replace(self) -> None:
        """After this thread's end, a new thread writes what waits behind the failed batch."""
        with self._lock:
            if self._thread is threading.current_thread():
                self._thread = None
                if not self._stopped and not self._queue.empty():
                    self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                    self._thread.start()

    def _serve(self, batch: list[_Waiting[T]]) -> None:
        while True:
            batch.clear()
            first = self._queue.get()
            if first is None:
                return
            batch.append(first)
            stopping = False
            while len(batch) < self._max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stopping = True
                    break
                batch.append(nxt)
            self._commit(batch)
            if stopping:
                return

    def _commit(self, batch: list[_Waiting[T]]) -> None:
        try:
            self._write([w.item for w in batch])
        except Exception as exc:  # noqa: BLE001 - handed to the requests that asked
            if len(batch) > 1 and isinstance(exc, self._retry_alone):
                for waiting in batch:
                    self._commit([waiting])
                return
            for waiting in batch:
                self._tell(waiting, exc)
            return
        for waiting in batch:
            self._tell(waiting, None)

    def _tell(self, waiting: _Waiting[T], error: BaseException | None) -> None:
        with self._lock:
            if waiting.told:  # told already, before the thread ended: see _run
                return
            waiting.told = True
            self._waiting -= 1
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
            waiting.loop.call_soon_threadsafe(_settle, waiting.future, error)
