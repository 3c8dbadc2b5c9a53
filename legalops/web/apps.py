from django.apps import AppConfig


class WebConfig(AppConfig):
    """The staff UI: views, forms and its static files (USWDS and htmx vendored)."""

    name = "legalops.web"
    label = "web"
    verbose_name = "Staff UI"
