"""The FtM export of Nuctech's case study is valid FollowTheMoney, as the format's own library
reads it: known schemata and properties, values it would not change, required properties
present, and every reference resolving to an object of the export of a fitting schema."""
import json

import pytest
from followthemoney import model
from followthemoney.exc import InvalidData
from followthemoney.types import registry

pytestmark = pytest.mark.django_db


def ftm_problems(lines: list[str]) -> list[str]:
    problems, proxies, schemata = [], [], {}
    for n, line in enumerate(lines, 1):
        data = json.loads(line)
        try:
            proxy = model.get_proxy(data, cleaned=False)  # cleans every value again; unknown properties raise
            proxy.schema.validate(data)
        except InvalidData as exc:
            problems.append(f"line {n} ({data.get('schema')} {data.get('id')}): {exc} {getattr(exc, 'errors', '')}")
            continue
        if proxy.to_dict()["properties"] != data["properties"]:
            problems.append(f"line {n} ({proxy.schema.name}): values the library would change")
        missing = [p for p in proxy.schema.required if not proxy.has(p)]
        if missing:
            problems.append(f"line {n} ({proxy.schema.name}): missing required {missing}")
        if proxy.id in schemata:
            problems.append(f"line {n}: duplicate id {proxy.id}")
        schemata[proxy.id] = proxy.schema
        proxies.append(proxy)
    for proxy in proxies:
        for prop, value in proxy.itervalues():
            if prop.type != registry.entity:
                continue
            target = schemata.get(value)
            if target is None:
                problems.append(f"{proxy.schema.name} {proxy.id}.{prop.name} -> {value}: not in the export")
            elif not target.is_a(prop.range):
                problems.append(f"{proxy.schema.name} {proxy.id}.{prop.name} -> a {target.name}, not a {prop.range.name}")
    return problems


@pytest.fixture
def nuctech(graph):
    from apps.catalog.models import Entity
    from apps.ingest.casestudy import load_casestudy
    from apps.sync.services import outbox_drain

    load_casestudy()
    outbox_drain()
    return Entity.objects.get(key="nuctech")


def test_every_object_of_the_case_study_export_validates_with_the_followthemoney_library(nuctech, client):
    response = client.get(f"/export/entities/{nuctech.uuid}.ftm", {"depth": 2})
    lines = response.content.decode().splitlines()
    assert response.status_code == 200 and len(lines) > 100
    assert ftm_problems(lines) == []
    by_schema = {}
    for line in lines:
        item = json.loads(line)
        by_schema.setdefault(item["schema"], []).append(item)
    # Contract dates live on the award (FtM's Contract has none); state control is a Control.
    assert by_schema["ContractAward"] and any("startDate" in a["properties"] for a in by_schema["ContractAward"])
    control = [c["properties"] for c in by_schema["Control"]]
    assert control and all(c["controlType"] == ["state control"] for c in control)
    search = client.get("/export/search.ftm", {"q": "nuctech"}).content.decode().splitlines()
    assert ftm_problems(search) == []
