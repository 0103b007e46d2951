"""The fault drill's plan: reproducible from its seed, every fault inside the import."""
from apps.ops.drill import FAULT_WINDOW, fault_plan


def test_the_same_seed_gives_the_same_faults_at_the_same_moments_of_the_import():
    plan = fault_plan(seed=13, neo4j_kills=3, worker_kills=2, redis_restarts=1)

    assert plan == fault_plan(seed=13, neo4j_kills=3, worker_kills=2, redis_restarts=1)
    assert plan != fault_plan(seed=14, neo4j_kills=3, worker_kills=2, redis_restarts=1)
    assert sorted(f.kind for f in plan) == ["neo4j"] * 3 + ["redis"] + ["worker"] * 2
    assert [f.at for f in plan] == sorted(f.at for f in plan)
    assert all(FAULT_WINDOW[0] <= f.at <= FAULT_WINDOW[1] for f in plan)
