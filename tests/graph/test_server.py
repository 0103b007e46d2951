"""graph/server.py against a real Neo4j 5 server: one server for the module, in a tmp data
dir on a free port, so it never touches the development or session test servers."""
from __future__ import annotations

import socket

import neo4j
import pytest

from graph import server


@pytest.fixture(scope="module")
def neo4j_tmp(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("neo4j")
    port = server.find_free_port()
    info = server.start(data_dir=data_dir, port=port, pagecache="64m", heap="512m", timeout=180)
    yield info
    server.stop(data_dir=data_dir)  # idempotent: test_stop_frees_port may already have stopped it


@pytest.fixture(scope="module")
def driver(neo4j_tmp):
    # Embedded Neo4j has auth off: any credentials are accepted.
    with neo4j.GraphDatabase.driver(neo4j_tmp.bolt_url, auth=("neo4j", "unused")) as drv:
        yield drv


def test_start_reports_a_ready_server(neo4j_tmp):
    assert neo4j_tmp.running and neo4j_tmp.ready and not neo4j_tmp.reused
    assert neo4j_tmp.startup_seconds is not None
    assert server.bolt_ready(neo4j_tmp.host, neo4j_tmp.port)
    assert (neo4j_tmp.data_dir / "neo4j.pid").is_file()
    assert "READY " + neo4j_tmp.bolt_url in neo4j_tmp.log_file.read_text()


def test_cypher_round_trip(driver):
    driver.execute_query("CREATE (:Probe {name: $name})", name="acme")
    records, _, _ = driver.execute_query("MATCH (p:Probe {name: $name}) RETURN p.name AS name", name="acme")
    assert [r["name"] for r in records] == ["acme"]
    records, _, _ = driver.execute_query("CALL dbms.components() YIELD versions, edition RETURN *")
    assert records[0]["edition"] == "community" and records[0]["versions"][0].startswith("5.26.")


def test_relationship_uniqueness_constraint(driver):
    driver.execute_query("CREATE CONSTRAINT owns_uid IF NOT EXISTS FOR ()-[r:OWNS]-() REQUIRE r.uid IS UNIQUE")
    driver.execute_query("CREATE (:Probe)-[:OWNS {uid: 'u1'}]->(:Probe)")
    with pytest.raises(neo4j.exceptions.ConstraintError):
        driver.execute_query("CREATE (:Probe)-[:OWNS {uid: 'u1'}]->(:Probe)")
    records, _, _ = driver.execute_query("SHOW CONSTRAINTS YIELD name, type WHERE name = 'owns_uid' RETURN type")
    assert records[0]["type"] == "RELATIONSHIP_UNIQUENESS"


def test_second_start_reuses_the_running_server(neo4j_tmp):
    again = server.start(data_dir=neo4j_tmp.data_dir, port=neo4j_tmp.port, timeout=30)
    assert again.reused and again.pid == neo4j_tmp.pid
    st = server.status(data_dir=neo4j_tmp.data_dir)
    assert st.running and st.ready and st.pid == neo4j_tmp.pid and st.port == neo4j_tmp.port


def test_same_data_dir_on_another_port_is_refused(neo4j_tmp):
    with pytest.raises(server.Neo4jServerError, match="already runs on"):
        server.start(data_dir=neo4j_tmp.data_dir, port=server.find_free_port(), timeout=30)


def test_port_taken_by_something_else_is_refused(neo4j_tmp, tmp_path):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        with pytest.raises(server.Neo4jServerError, match="already taken"):
            server.start(data_dir=tmp_path / "other", port=port, timeout=30)
        assert not server.bolt_ready("127.0.0.1", port)  # accepts TCP but never speaks Bolt


def test_stop_frees_the_port(neo4j_tmp):
    # Last in the module: it stops the shared server.
    assert server.stop(data_dir=neo4j_tmp.data_dir) is True
    assert not (neo4j_tmp.data_dir / "neo4j.pid").exists()
    assert not server.bolt_ready(neo4j_tmp.host, neo4j_tmp.port, timeout=1)
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((neo4j_tmp.host, neo4j_tmp.port))  # raises if still taken
    assert not server.status(data_dir=neo4j_tmp.data_dir).running
    assert server.stop(data_dir=neo4j_tmp.data_dir) is False
    assert "STOPPED" in neo4j_tmp.log_file.read_text()  # shut down cleanly, not killed
