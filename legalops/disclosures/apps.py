from django.apps import AppConfig


class DisclosuresConfig(AppConfig):
    name = "legalops.disclosures"
    label = "disclosures"
    verbose_name = "Disclosure packages"
