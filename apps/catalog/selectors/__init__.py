"""The catalogue's reads, one home per rule.

- `visibility`: what is public (the only place that says so);
- `search`: the one entity search (pages, API, exports, curation, imports);
- `browse`: the pages' reads, graph-backed traversals wrapping `graph.queries`;
- `counts`: sizes of the store of record.

Pages, the API, the admin, exports, commands and tasks call these; none repeats them.
"""
