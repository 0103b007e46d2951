"""Only graph/ speaks to Neo4j: nothing else imports neomodel, django_neomodel or the driver."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {"neomodel", "django_neomodel", "neo4j"}


def test_it_keeps_neo4j_imports_inside_graph():
    offenders = []
    for path in ROOT.glob("apps/**/*.py"):
        offenders += _imports(path)
    for path in ROOT.glob("config/**/*.py"):
        offenders += _imports(path)
    assert offenders == []


def _imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        found += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    return found
