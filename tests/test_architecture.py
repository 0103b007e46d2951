"""Only graph/ speaks to Neo4j: nothing else imports neomodel, django_neomodel or the driver."""
import ast
import re
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


def _imports(path: Path, forbidden: set[str] = FORBIDDEN) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        found += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in forbidden]
    return found


# --- one rule, one home --------------------------------------------------------------------

ADAPTERS = [*ROOT.glob("apps/*/views.py"), *ROOT.glob("apps/*/views/*.py"), *ROOT.glob("apps/*/admin.py"),
            *ROOT.glob("apps/*/templatetags/*.py"), *ROOT.glob("apps/*/serializers.py")]


def test_it_keeps_views_admin_and_api_off_the_graph():
    """Pages, the API and the admin are adapters: graph traversals reach them only through
    apps.catalog.selectors (which apply the one visibility rule)."""
    offenders = []
    for path in ADAPTERS:
        offenders += _imports(path, {"graph", *FORBIDDEN})
    assert offenders == []


# A filter on the review state that decides what readers see. Writes (services), the
# migrations and the synthetic benchmark data set workflow values; only the visibility
# module reads them to decide what is public.
_PUBLIC_FILTER = re.compile(r"""(filter|exclude|Q)\([^)]*workflow\s*=\s*(Workflow\.PUBLISHED|PUBLISHED|["']published["'])""")
_RULE_HOME = {"apps/catalog/selectors/visibility.py"}


def test_it_has_one_visibility_rule():
    offenders = []
    for path in ROOT.glob("apps/**/*.py"):
        rel = str(path.relative_to(ROOT))
        if rel in _RULE_HOME or "/migrations/" in rel:
            continue
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            if _PUBLIC_FILTER.search(line):
                offenders.append(f"{rel}:{lineno}: {line.strip()}")
    assert offenders == [], "a second visibility rule: call apps.catalog.selectors.visibility instead"


def test_the_graph_applies_the_same_rule_to_every_end_of_a_record():
    from graph import queries

    rule = queries._REL_PUBLIC
    for end in ("startNode(r)", "endNode(r)", "r.site", "r.party"):
        assert end in rule


def test_it_has_one_entity_search():
    """Name matching (name_norm lookups) happens in the search module only."""
    offenders = []
    for path in ROOT.glob("apps/**/*.py"):
        rel = str(path.relative_to(ROOT))
        if rel == "apps/catalog/selectors/search.py" or "/migrations/" in rel:
            continue
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"name_norm__(contains|icontains|startswith|trigram)|name__icontains", line):
                offenders.append(f"{rel}:{lineno}: {line.strip()}")
    assert offenders == [], "a second entity search: call apps.catalog.selectors.search instead"
