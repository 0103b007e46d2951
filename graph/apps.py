from django.apps import AppConfig


class GraphConfig(AppConfig):
    name = "graph"
    label = "graph"
    verbose_name = "Graph read model (Neo4j)"

    def ready(self):
        from graph.connection import configure

        configure()
