"""New rows' uuids (apps.catalog.ids.uuid_new): valid, unique, ordered by creation within their
group, and spread evenly over their first hex digits (graph_check cuts the uid space there)."""
import os
import uuid
from collections import Counter

from apps.catalog.ids import uuid_new


def test_new_uuids_are_unique_version_8_uuids_spread_evenly_over_their_first_hex_digit():
    made = [uuid_new() for _ in range(4096)]

    assert len(set(made)) == len(made)
    assert {(u.version, u.variant) for u in made} == {(8, uuid.RFC_4122)}
    assert all(uuid.UUID(str(u)) == u for u in made)  # written and read back as any uuid
    # graph_check (graph.sync.uid_ranges) splits uids by their first hex digits: each of the
    # 16 gets its share (256 expected; the bounds are seven standard deviations away).
    spread = Counter(str(u)[0] for u in made)
    assert len(spread) == 16 and all(150 < count < 370 for count in spread.values())


def test_objects_made_together_get_different_short_keys_and_old_keys_stay():
    """A citation key ("vg-" and eight hex digits) must tell apart the objects one import makes;
    a uuid4's key stays what was cited before."""
    from apps.catalog.ids import uuid_short

    made = [uuid_new() for _ in range(300)]
    assert len({uuid_short(u) for u in made}) == len(made)
    old = uuid.UUID("3f2a9c1d-0000-4000-8000-000000000000")
    assert uuid_short(old) == "3f2a9c1d"


def test_a_forked_worker_does_not_hand_out_its_parents_random_bits():
    # Celery's workers are forked from one parent holding a pool of random bytes: a child that
    # kept the parent's pool would mint the same random parts as its siblings.
    uuid_new()  # the parent's pool is filled
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.write(write, ",".join(str(uuid_new().int & ((1 << 62) - 1)) for _ in range(50)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = set(os.read(read, 1 << 16).decode().split(","))
    os.close(read)
    parent = {str(uuid_new().int & ((1 << 62) - 1)) for _ in range(50)}
    assert len(child) == 50 and not child & parent
