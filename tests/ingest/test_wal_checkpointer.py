"""The import's WAL checkpoints on a thread of their own (SQLite): the committed pages reach
the database file while the importer goes on, and the WAL file starts over instead of
growing with the whole import."""
import os
import sqlite3
import time

from apps.ingest.services import _WalCheckpointer

CHUNK_ROWS, ROW = 2000, "x" * 500  # about 1 MB a chunk


def _store(path):
    db = sqlite3.connect(path, isolation_level=None)
    assert db.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
    db.execute("PRAGMA wal_autocheckpoint=0")  # as the importer's connection: it leaves them to the thread
    db.execute("CREATE TABLE t (x TEXT)")
    return db


def _chunk(db):
    db.execute("BEGIN")
    db.executemany("INSERT INTO t VALUES (?)", [(ROW,)] * CHUNK_ROWS)
    db.execute("COMMIT")


def test_committed_pages_reach_the_database_file_and_the_wal_starts_over(tmp_path):
    path = tmp_path / "store.sqlite3"
    db = _store(path)
    checkpointer = _WalCheckpointer(path).start()
    wal_sizes = []
    try:
        for n in range(1, 31):
            _chunk(db)
            checkpointer.nudge()
            deadline = time.monotonic() + 10
            while checkpointer.checkpoints < n:
                assert time.monotonic() < deadline, "no checkpoint after the nudge"
                time.sleep(0.005)
            wal_sizes.append(os.path.getsize(f"{path}-wal"))
    finally:
        checkpointer.stop()
    assert not checkpointer.thread.is_alive()
    # 30 MB were committed: the database file holds them (not only the WAL), and the WAL
    # file was reused from its start rather than grown to hold them all.
    assert os.path.getsize(path) > 25_000_000
    assert max(wal_sizes) < 5_000_000
    assert db.execute("SELECT count(*) FROM t").fetchone()[0] == 30 * CHUNK_ROWS
    db.close()


def test_without_a_checkpointer_the_wal_holds_every_chunk(tmp_path):
    # The control: what the thread saves the importer from.
    path = tmp_path / "store.sqlite3"
    db = _store(path)
    for _ in range(30):
        _chunk(db)
    assert os.path.getsize(f"{path}-wal") > 25_000_000
    db.close()
