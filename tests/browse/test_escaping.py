"""Names come from untrusted sources: every page escapes them, and JSON for scripts is
written with json_script (no raw '<' inside a <script>)."""
import pytest
from django.urls import reverse

from apps.catalog.models import Alias

pytestmark = pytest.mark.django_db

EVIL = "<script>alert(1)</script><b>x</b>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;x&lt;/b&gt;"


def test_markup_in_names_is_shown_as_text_everywhere(client, publish, graph):
    vendor = publish.entity(EVIL, country="RS")
    Alias(entity=vendor, name=EVIL + " alias").save()
    state = publish.entity("Serbia", kind="country", iso_code="RS")
    owner = publish.entity("Owner " + EVIL)
    publish.record(owner, vendor, kind="ownership", share_pct=51, title="Title " + EVIL)
    publish.record(vendor, state, kind="deployment", status="active", title="Deployed " + EVIL, start="2021")
    publish.record(state, vendor, kind="ban", title="Ban " + EVIL, start="2022")
    publish.drain()

    uid = vendor.uuid
    pages = [
        reverse("browse:search") + "?q=script+alert",
        reverse("browse:search_suggest") + "?q=script+alert",
        reverse("browse:entity", args=[uid]),
        reverse("browse:ownership", args=[uid]),
        reverse("browse:ownership", args=[owner.uuid]),
        reverse("browse:deployments", args=[uid]),
        reverse("browse:connections", args=[uid]),
        reverse("browse:country", args=["RS"]),
        reverse("browse:paths") + f"?from={owner.uuid}&to={state.uuid}",
        reverse("browse:timeline") + f"?vendor={uid}",
    ]
    for url in pages:
        response = client.get(url)
        html = response.content.decode()
        assert response.status_code == 200, url
        assert "<script>alert(1)" not in html and "<b>x</b>" not in html, url
        assert ESCAPED in html or "\\u003Cscript\\u003Ealert(1)" in html, url
    connections = client.get(reverse("browse:connections", args=[uid])).content.decode()
    assert "\\u003Cscript\\u003Ealert(1)\\u003C/script\\u003E" in connections  # json_script
    data = client.get(reverse("browse:connections_json", args=[uid])).json()
    assert EVIL in {n["label"] for n in data["nodes"]}  # data stays data; explorer.js draws it as text
