"""Offline bulk load of the graph with Neo4j's own importer (`neo4j-admin database import full`).

Creating millions of relationships through Cypher transactions costs Neo4j about 0.13 ms of
CPU each (see README, Benchmarks): a 5,000,000-record graph needs over ten minutes however the
batches are cut. Neo4j's offline importer writes the store files directly from CSV instead.
This module turns the same projection the online writer applies (apps.catalog's
entity_graph_props / record_graph_props; a None or an empty list is no property on both paths,
see graph.sync.stored) into the importer's CSV files, one
per node label and relationship type, and runs the importer with the launcher's own Java and
classpath (neo4j-import-tool and neo4j-command-line are in its runtime closure) on the data dir
that graph.server's launcher serves (`<data dir>/data/databases/neo4j`).

The importer needs the server of that data dir STOPPED; apps.sync.parity.graph_rebuild_bulk
stops and starts it around the import.

CSV rules (checked by tests/sync/test_bulk_rebuild.py): every string is quoted (`""` is then an
empty string, an unquoted empty field no property), quotes doubled (RFC 4180); array elements
are joined by U+001F (a control character no name or uuid holds; one that does is refused);
rows holding a line break go to a separate file that the importer is told may span lines
(parsing every file that way is much slower).
"""
from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from neomodel import ArrayProperty, BooleanProperty, FloatProperty, IntegerProperty, StringProperty

from graph import server
from graph.models import NODE_LABELS, REL_TYPES, GraphEntity, RecordRel

ADMIN_MAIN_CLASS = "org.neo4j.cli.AdminTool"
DATABASE = "neo4j"  # the launcher's (Neo4j's) default database
ARRAY_DELIMITER = "\x1f"
_BUFFER = 1 << 20


class BulkImportError(RuntimeError):
    """The CSV could not be written or the importer failed; the message says which and why."""


def _column_type(prop) -> str:
    """The importer's type of a neomodel property (graph.models is the one list of them)."""
    if isinstance(prop, ArrayProperty):
        return _column_type(prop.base_property) + "[]"
    for cls, name in ((BooleanProperty, "boolean"), (IntegerProperty, "long"), (FloatProperty, "double"),
                      (StringProperty, "string")):
        if isinstance(prop, cls):
            return name
    raise BulkImportError(f"no CSV type for {type(prop).__name__}")


def _columns(cls) -> list[tuple[str, str]]:
    """(property, importer type) of a graph class, but uid and version (written first)."""
    return [(name, _column_type(prop)) for name, prop in cls.defined_properties(aliases=False, rels=False).items()
            if name not in ("uid", "version")]


def _quoted(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def _boolean(value) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    raise TypeError(f"{value!r} is not a boolean")


def _strings(values) -> str:
    if not values:
        return ""  # no property, as graph.sync.stored() says
    joined = ARRAY_DELIMITER.join(values)
    # An empty element cannot be told from the delimiter's neighbour, a delimiter inside an
    # element would split it: refuse both rather than store something else.
    if joined.count(ARRAY_DELIMITER) != len(values) - 1 or "" in values:
        raise ValueError("a list element is empty or holds the character U+001F")
    return _quoted(joined)


_FORMAT = {"string": _quoted, "long": lambda v: "%d" % v, "double": lambda v: repr(float(v)),
           "boolean": _boolean, "string[]": _strings}


def _declared(cls, names, aggregate: str) -> list[tuple[str, str]]:
    """(property, importer type) of `names` (default: every property of `cls` but uid and
    version); refuses a name graph.models does not declare."""
    declared = dict(_columns(cls))
    if names is None:
        return list(declared.items())
    unknown = [name for name in names if name not in declared]
    if unknown:
        raise BulkImportError(f"{aggregate} payload field(s) {sorted(unknown)} are not declared in graph.models, "
                              f"so the importer has no column for them")
    return [(name, declared[name]) for name in names]


@dataclass
class CsvFiles:
    """The CSV files written so far: importer arguments by label/type, and row counts.

    write_entities()/write_records() take plain rows whose properties are a tuple in the
    order `entity_props` / `record_props` name (the projection's own order, e.g.
    apps.catalog's ENTITY_GRAPH_PROPS; default: graph.models' order); a value None is no
    property."""

    folder: Path
    entity_props: tuple | None = None
    record_props: tuple | None = None
    nodes: int = 0
    relationships: int = 0
    _handles: dict = field(default_factory=dict)
    _groups: list = field(default_factory=list)  # (option, label or type, path, multiline)

    def __post_init__(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        self._entity_columns = _declared(GraphEntity, self.entity_props, "entity")
        self._record_columns = _declared(RecordRel, self.record_props, "record")
        # (is a string, formatter) per column: strings, most cells, are quoted inline (a call
        # per cell was a tenth of the export's time).
        self._entity_format = [(kind == "string", _FORMAT[kind]) for _, kind in self._entity_columns]
        self._record_format = [(kind == "string", _FORMAT[kind]) for _, kind in self._record_columns]

    def _file(self, option: str, name: str, multiline: bool):
        key = (option, name, multiline)
        handle = self._handles.get(key)
        if handle is None:
            path = self.folder / f"{option}-{name}{'-multiline' if multiline else ''}.csv"
            handle = open(path, "w", encoding="utf-8", newline="", buffering=_BUFFER)
            if option == "nodes":
                head = ["uid:ID", "version:long", *(f"{n}:{t}" for n, t in self._entity_columns)]
            else:
                head = [":START_ID", ":END_ID", "uid:string", "version:long",
                        *(f"{n}:{t}" for n, t in self._record_columns)]
            handle.write(",".join(head) + "\n")
            self._handles[key] = handle
            self._groups.append((option, name, path, multiline))
        return handle

    def _flush(self, option: str, lines: dict) -> None:
        # Rows holding a line break go to a file of their own (see the module's docstring).
        for (name, multiline), some in lines.items():
            some.append("")
            self._file(option, name, multiline).write("\n".join(some))

    def write_entities(self, rows) -> None:
        """Add entities: rows (kind, uid, version, properties tuple)."""
        self.nodes += self._write("nodes", "entity", NODE_LABELS, self._entity_format,
                                  ((kind, uid, (uid,), version, props) for kind, uid, version, props in rows))

    def write_records(self, rows) -> None:
        """Add records: rows (kind, uid, version, subject uid, object uid, properties tuple)."""
        self.relationships += self._write("relationships", "record", REL_TYPES, self._record_format,
                                          ((kind, uid, (s, o, uid), version, props)
                                           for kind, uid, version, s, o, props in rows))

    def _write(self, option: str, what: str, groups: dict, formats, rows) -> int:
        """One page of rows (kind, uid, the quoted id columns, version, properties) as CSV lines,
        grouped by label / type; returns how many."""
        lines: dict = {}
        count = 0
        for kind, uid, ids, version, props in rows:
            try:
                line = ",".join([*map(_quoted, ids), "%d" % version,
                                 *["" if v is None else '"' + v.replace('"', '""') + '"' if text else f(v)
                                   for (text, f), v in zip(formats, props)]])
            except (TypeError, ValueError, AttributeError) as exc:
                raise BulkImportError(f"{what} {uid}: a value cannot be written to the importer's CSV: {exc}") from exc
            lines.setdefault((groups[kind], "\n" in line or "\r" in line), []).append(line)
            count += 1
        self._flush(option, lines)
        return count

    def __getstate__(self):
        # What an export process hands back: the files written, not the writer.
        return {"folder": self.folder, "nodes": self.nodes, "relationships": self.relationships,
                "_groups": self._groups, "_handles": {},
                "entity_props": self.entity_props, "record_props": self.record_props}

    def __setstate__(self, state):
        self.__dict__.update(state)

    def close(self) -> None:
        for handle in self._handles.values():
            handle.close()
        self._handles = {}  # closed: the summary can now be pickled (from an export process)



def _arguments(files: list[CsvFiles]) -> list[str]:
    """The importer's --nodes / --relationships / --multiline-fields arguments."""
    args = []
    groups = [group for f in files for group in f._groups]
    for option, name, path, _ in groups:
        target = f"Entity:{name}" if option == "nodes" else name
        args.append(f"--{option}={target}={path}")
    multiline = [str(path) for *_, path, flag in groups if flag]
    if multiline:
        args += ["--multiline-fields-format=v2", f"--multiline-fields={','.join(multiline)}"]
    return args


_IMPORTED = re.compile(r"IMPORT DONE in ([^\n]+)")


def import_full(*, data_dir: str | os.PathLike[str], files: list[CsvFiles], heap: str = "1g",
                off_heap: str = "2g", threads: int | None = None, timeout: float = 7200.0) -> dict:
    """Run `neo4j-admin database import full --overwrite-destination` into the `neo4j`
    database of `data_dir` (its server must be stopped) from the CSV `files` (of one or
    several export processes, each file its own group with its own header). Returns the
    importer's summary; raises BulkImportError with the tail of its output when it fails."""
    data_dir = Path(data_dir).expanduser().resolve()
    if server.status(data_dir=data_dir).running:
        raise BulkImportError(f"the Neo4j server of {data_dir} is running: stop it before the import")
    classpath = server.ensure_built()
    java = server._check_java()
    conf = files[0].folder.parent / "conf"
    conf.mkdir(exist_ok=True)
    # The importer reads NEO4J_HOME/NEO4J_CONF like neo4j-admin; the launcher configures the
    # DBMS in code, so an empty neo4j.conf means the same defaults (store format included).
    (conf / "neo4j.conf").write_text("")
    log_file = data_dir / "import.log"
    cmd = [java, f"-Xmx{heap}", *server.JVM_FLAGS, "-cp", classpath, ADMIN_MAIN_CLASS,
           # The database first: the file options take any number of values.
           "database", "import", "full", DATABASE, "--overwrite-destination",
           f"--array-delimiter=U+{ord(ARRAY_DELIMITER):04X}",
           f"--max-off-heap-memory={off_heap}", f"--report-file={data_dir / 'import.report'}",
           *([f"--threads={threads}"] if threads else []), *_arguments(files)]
    env = dict(os.environ, NEO4J_HOME=str(data_dir), NEO4J_CONF=str(conf))
    started = time.monotonic()
    with open(log_file, "wb") as log:
        try:
            code = subprocess.run(cmd, env=env, cwd=data_dir, stdin=subprocess.DEVNULL, stdout=log,
                                  stderr=subprocess.STDOUT, timeout=timeout).returncode
        except subprocess.TimeoutExpired as exc:
            raise BulkImportError(f"the import took over {timeout:.0f} s (log: {log_file})") from exc
    output = log_file.read_text(errors="replace")
    done = _IMPORTED.search(output)
    if code != 0 or not done:
        tail = "\n".join(output.rstrip().splitlines()[-30:])
        raise BulkImportError(f"neo4j-admin database import failed (exit {code}; log {log_file}):\n{tail}")
    return {"seconds": round(time.monotonic() - started, 1), "importer": done.group(1).strip(),
            "nodes": sum(f.nodes for f in files), "relationships": sum(f.relationships for f in files)}


def local_server_check(*, url: str, data_dir: str | os.PathLike[str], host: str, port: int) -> None:
    """Refuse (BulkImportError) unless the graph at `url` is the project's own server of
    `data_dir` on host:port (running or stopped): only that one can be stopped and replaced."""
    from urllib.parse import urlparse

    target = urlparse(url)
    if (target.hostname, target.port or 7687) != (host, int(port)):
        raise BulkImportError(f"the graph ({target.hostname}:{target.port or 7687}) is not the local server this "
                              f"project manages ({host}:{port}, NEO4J_BOLT_HOST/NEO4J_BOLT_PORT): it cannot be "
                              f"stopped and replaced from here; use graph_rebuild without --bulk")
    info = server.status(data_dir=data_dir, host=host, port=int(port))
    if not info.running and info.ready:
        raise BulkImportError(f"a Neo4j answers on {host}:{port} that is not the server of {data_dir} "
                              f"(NEO4J_DATA_DIR): "
                              f"stop it, or use graph_rebuild without --bulk")
