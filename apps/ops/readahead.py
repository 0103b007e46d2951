"""Reading ahead in a thread: the one helper for a consumer that writes while the next items
are read (graph_rebuild and the bulk export read the store while writing Neo4j or CSV; an
import parses the file while the database writes)."""
from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator

_END = object()


def read_ahead(items: Iterable, *, depth: int = 2, after: Callable[[], None] | None = None) -> Iterator:
    """Yield what `items` yields, in order, produced in a thread of its own up to `depth` items
    ahead of the caller. An error while producing is raised here, after the items before it.
    A caller that stops early (closing this generator, or dropping it) stops the thread too,
    and the iterator `items` is closed. `after`: called in the thread when it ends (e.g. to
    close that thread's database connection). Worth it where the caller's work releases the
    interpreter's lock (a database's or a socket's wait, SQLite's own work) on a machine with
    a second core."""
    out: queue.Queue = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False  # the caller stopped reading

    def produce():
        end = _END
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, raised there
            end = exc
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()
            if after is not None:
                after()
        put(end)

    thread = threading.Thread(target=produce, name="read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item = out.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()
