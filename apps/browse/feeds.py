"""Atom feeds of newly published records (Django's syndication framework): everything, and
per entity. Only public records (apps.catalog.selectors.visibility), newest first, each with
its parties, dates and quoted sources."""
from __future__ import annotations

from django.contrib.syndication.views import Feed
from django.http import Http404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from apps.catalog.selectors.browse import entity_get
from apps.catalog.selectors.latest import latest_records

FEED_SIZE = 50


class RecordsFeed(Feed):
    feed_type = Atom1Feed
    title = "vendorgraph: newly published records"
    subtitle = "Records of vendor controversies as they are published, each with its sources and quotes."
    description_template = "feeds/record_description.html"

    def link(self):
        return reverse("web:home")

    def items(self):
        return latest_records(limit=FEED_SIZE, cited=True)

    def item_title(self, record):
        return record.title or f"{record.get_kind_display()}: {record.subject.name} → {record.object.name}"

    def item_link(self, record):
        return f"/records/{record.uuid}/"

    def item_pubdate(self, record):
        return record.published_on

    def item_updateddate(self, record):
        return record.updated_at

    def item_categories(self, record):
        return [record.get_kind_display()]


class EntityRecordsFeed(RecordsFeed):
    description_template = "feeds/record_description.html"

    def get_object(self, request, uid):
        entity = entity_get(uid)
        if entity is None:
            raise Http404("No such published entity.")
        return entity

    def title(self, entity):
        return f"vendorgraph: {entity.name}"

    def subtitle(self, entity):
        return f"Records naming {entity.name}, as they are published."

    def link(self, entity):
        return reverse("browse:entity", args=[entity.uuid])

    def items(self, entity):
        return latest_records(entity=entity, limit=FEED_SIZE, cited=True)
