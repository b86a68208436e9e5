"""Work done beside the caller's thread: the second core.

Reading (Arrow kernels, file reads, calamine) and writing (deflate, parquet encoding) let go
of the GIL, so a thread of their own runs them while the caller works. Two shapes, each
keeping order, bounded, and passing an error on to the caller's thread:

- ``produced``: the items of generators, each run in a thread of its own, handed to the
  caller as they are made (the next chunk read ahead; each workbook unpacked at once).
- ``Beside``: items the caller hands over, consumed in a second thread while the caller
  makes the next (a sheet's XML deflated; a parquet table encoded and written).

Whatever way the caller leaves (done, an error, a stop), no thread is left running.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
_END = object()
_POLL = 0.05  # seconds a waiting producer looks again whether it should stop


def produced(
    sources: Sequence[Generator[T, None, None]], depth: int | None = 1, name: str = "produce"
) -> Iterator[tuple[int, T]]:
    """(source index, item) for the items of several generators, each run in a thread of its
    own, in the order they are made (one source's items in their own order).

    Args:
        sources: generators (each closed in its own thread when the caller stops early).
        depth: how many items a source may make ahead of the caller; None: no bound.
        name: the threads' name (with the source's index when there are several).

    Raises:
        Whatever a source raises, when the caller reaches it.
    """
    ready: queue.Queue = queue.Queue()
    stop = threading.Event()
    slots = [None if depth is None else threading.Semaphore(depth) for _ in sources]

    def run(i: int, source: Generator[T, None, None]) -> None:
        try:
            while True:
                slot = slots[i]
                while slot is not None and not slot.acquire(timeout=_POLL):
                    if stop.is_set():
                        return
                if stop.is_set():
                    return
                try:
                    item = next(source)
                except StopIteration:
                    return
                ready.put((i, item, None))
        except BaseException as exc:  # handed to the caller, raised there
            ready.put((i, None, exc))
        finally:
            source.close()
            ready.put((i, _END, None))

    threads = [
        threading.Thread(
            target=run, args=(i, s), name=name if len(sources) == 1 else f"{name} {i}", daemon=True
        )
        for i, s in enumerate(sources)
    ]
    for thread in threads:
        thread.start()
    try:
        running = len(threads)
        while running:
            i, item, exc = ready.get()
            if exc is not None:
                raise exc
            if item is _END:
                running -= 1
                continue
            if slots[i] is not None:
                slots[i].release()  # the next may be made while the caller works on this one
            yield i, item
    finally:
        stop.set()
        for thread in threads:
            thread.join()


def read_ahead(chunks: Generator[T, None, None], depth: int = 1) -> Iterator[T]:
    """The items of ``chunks``, each made in a second thread while the caller works on the
    one before (at most ``depth`` ahead); an error comes out where its item would have."""
    for _, item in produced([chunks], depth, name="read-ahead"):
        yield item


class Beside(Generic[T]):
    """Hands items to ``consume`` in a second thread, in order, while the caller makes the
    next (at most ``depth`` wait their turn).

    An error in ``consume`` is raised by the next ``put`` or by ``close``; the items after
    it are dropped. Always ``close`` it (a failed caller too): it waits for what was handed
    over and leaves no thread.
    """

    def __init__(self, consume: Callable[[T], object], depth: int = 1, name: str = "beside"):
        self._consume = consume
        self._todo: queue.Queue = queue.Queue(maxsize=depth)
        self._failed: list[BaseException] = []
        self._thread = threading.Thread(target=self._drain, name=name, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while (item := self._todo.get()) is not _END:
            if not self._failed:
                try:
                    self._consume(item)
                except BaseException as exc:  # told to the caller by put or close
                    self._failed.append(exc)

    def put(self, item: T) -> None:
        """Hand an item over (waits while ``depth`` items wait).

        Raises:
            What ``consume`` raised on an earlier item.
        """
        self._raise()
        self._todo.put(item)

    def close(self) -> None:
        """Wait for the items handed over, and end the thread.

        Raises:
            What ``consume`` raised, if it did.
        """
        if self._thread.is_alive():
            self._todo.put(_END)
            self._thread.join()
        self._raise()

    def _raise(self) -> None:
        if self._failed:
            raise self._failed[0]


def consumed(consume: Callable[[T], object], items: Iterator[T], depth: int = 2, name="beside"):
    """``consume`` each item in a second thread while the next is made (``Beside``).

    Raises:
        What making an item or consuming one raised (making stops at a consumer's error).
    """
    sink: Beside[T] = Beside(consume, depth, name)
    try:
        for item in items:
            sink.put(item)
    finally:
        sink.close()
