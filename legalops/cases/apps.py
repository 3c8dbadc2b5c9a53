from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "legalops.cases"
    label = "cases"
    verbose_name = "Legal requests"
