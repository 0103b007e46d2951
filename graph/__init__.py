"""Everything that speaks to Neo4j. Nothing outside this package imports neomodel or the driver."""
