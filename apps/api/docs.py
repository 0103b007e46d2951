"""A readable, offline page of the OpenAPI schema (no CDN, no JavaScript)."""
from django.shortcuts import render
from drf_spectacular.generators import SchemaGenerator


def api_docs(request):
    schema = SchemaGenerator(patterns=None).get_schema(request=None, public=True)
    operations = []
    for path, methods in schema.get("paths", {}).items():
        for method, op in methods.items():
            operations.append({
                "method": method.upper(), "path": path, "summary": op.get("summary") or op.get("description", ""),
                "parameters": [p for p in op.get("parameters", []) if p.get("in") == "query"],
                "writes": method.upper() not in ("GET", "HEAD", "OPTIONS"),
            })
    return render(request, "api/docs.html", {"schema": schema, "operations": operations})
