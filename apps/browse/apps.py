from django.apps import AppConfig


class BrowseConfig(AppConfig):
    name = "apps.browse"
    label = "browse"
    verbose_name = "Browsing for analysts"
