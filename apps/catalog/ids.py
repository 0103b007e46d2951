"""The one way new rows get their uuid (every model default that mints one points here).

Why not uuid4: a uuid4 is random, so each new row lands at a random place in every B-tree keyed by
it -- the `uuid` unique index of its table, the outbox's `uid` index, the graph's uid index. Once
such an index outgrows the database's page cache, nearly every insert touches a page that is not
in memory, and each commit writes out pages all over the index (on SQLite, importing a million
objects: the outbox rows' inserts 9.4 -> 7.0 CPU seconds, the commits 22 -> 14, see the README).

What instead: an RFC 9562 UUID of version 8 (the version for a layout of one's own; any UUID
parser accepts it, and it is written, stored and compared like any other uuid) laid out as

    8 random bits | time: 40 bits | version 8 | time: 12 bits | variant 10 | 62 random bits

(the time: 52 bits counting sixteenths of a millisecond since 1970, split around the version),

so that, within each of 256 groups (the first byte), uuids are ordered by creation: a bulk insert
appends at 256 places of each index (the pages there stay in the cache) instead of writing at
random. The leading byte stays random on purpose: graph_check (apps.sync.parity, graph.sync.uid_ranges)
cuts the uid space into ranges by the first hex digits and expects them evenly filled, which a
plain UUIDv7 (time first) would put into one range. Within a process the time
part never repeats or goes back (a burst of more than 16 a millisecond runs a little ahead of the
clock and the clock catches up). 70 random bits: unique and not
guessable in practice; the value reveals when the row was made to the millisecond, which the
history shows to anyone who can read the row anyway.
"""
from __future__ import annotations

import os
import threading
import time
import uuid

_VERSION = 0x8
_VARIANT = 0b10
_FIXED = (_VERSION << 76) | (_VARIANT << 62)
_REST = (1 << 62) - 1
_last = 0  # the last time value given out by this process
_lock = threading.Lock()
# Random bytes are taken from the system 36 KB at a time (one system call per 4,096 uuids,
# not one each: an import mints millions). A forked child starts a pool of its own, so no
# two processes ever hand out the same bytes.
_POOL_SIZE = 9 * 4096
_pool = b""
_at = 0
_UUID, _new, _set, _SAFE = uuid.UUID, object.__new__, object.__setattr__, uuid.SafeUUID.unknown


def _pool_forget() -> None:
    global _pool, _at
    _pool, _at = b"", 0


os.register_at_fork(after_in_child=_pool_forget)


def uuid_new() -> uuid.UUID:
    """A new uuid, ordered by creation time within its group (see the module's docstring)."""
    global _last, _pool, _at
    ns = time.time_ns()
    ticks = ((ns // 1_000_000) << 4) | (ns % 1_000_000 * 16 // 1_000_000)  # 52 bits: ms and sixteenths of a ms
    with _lock:  # strictly increasing within the process, so its uuids sort as they were made
        ticks = _last = max(ticks, _last + 1)
        at = _at
        if at >= len(_pool):
            _pool, at = os.urandom(_POOL_SIZE), 0
        _at = at + 9
        rand = int.from_bytes(_pool[at:at + 9], "big")
    value = (((rand >> 64) << 120)               # 8 random bits
             | ((ticks >> 12) << 80)             # the time's 40 high bits
             | ((ticks & 0xFFF) << 64)           # its 12 low bits (ms and sixteenths)
             | _FIXED                            # version 8, variant 10
             | (rand & _REST))                   # 62 random bits
    # uuid.UUID(int=value) without its checks of an int made right here (a third of the cost):
    # the two slots its __init__ sets.
    made = _new(_UUID)
    _set(made, "int", value)
    _set(made, "is_safe", _SAFE)
    return made


def uuid_short(value: uuid.UUID) -> str:
    """Eight hex digits naming an object in short (its citation key "vg-...", an export's file
    name). A uuid4's first eight, as always (keys already cited stay the same); of ours, the last
    eight, which are random: their first eight are the group and the time, which everything one
    import makes within hours shares but for the group."""
    value = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    return value.hex[-8:] if value.version == _VERSION else str(value)[:8]
