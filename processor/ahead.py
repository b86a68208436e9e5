"""Read the next chunk while this one is worked on (the import's second core).

Reading is mostly Arrow's kernels and file reads, which let go of the GIL, so a second
thread reading chunk n + 1 runs beside the ledger, matching, pricing and writing of chunk n.
Chunks come out in order; an error raised while reading comes out where that chunk would
have; one chunk at the most waits, so memory grows by one chunk.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator
from typing import TypeVar

T = TypeVar("T")
_END = object()


def read_ahead(chunks: Generator[T, None, None], depth: int = 1) -> Iterator[T]:
    """The items of ``chunks``, each made in a second thread while the caller works on the
    one before.

    Args:
        chunks: a generator (closed in its own thread when the caller stops early).
        depth: how many items may be made ahead of the one the caller works on.

    Raises:
        Whatever ``chunks`` raises, when the caller reaches that item.
    """
    ready: queue.Queue = queue.Queue()
    slots = threading.Semaphore(depth)  # items made and not yet taken, at most
    stop = threading.Event()

    def run() -> None:
        try:
            while True:
                while not slots.acquire(timeout=0.05):
                    if stop.is_set():
                        return
                if stop.is_set():
                    return
                try:
                    item = next(chunks)
                except StopIteration:
                    ready.put((_END, None))
                    return
                ready.put((item, None))
        except BaseException as exc:  # handed to the caller, raised there
            ready.put((None, exc))
        finally:
            chunks.close()

    reader = threading.Thread(target=run, name="read-ahead", daemon=True)
    reader.start()
    try:
        while True:
            item, exc = ready.get()
            if exc is not None:
                raise exc
            if item is _END:
                return
            slots.release()  # the next one may be made while the caller works on this one
            yield item
    finally:
        stop.set()
        reader.join()
