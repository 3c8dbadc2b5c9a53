from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "legalops.accounts"
    label = "accounts"
    verbose_name = "Accounts and API tokens"

    def ready(self) -> None:
        from legalops.accounts import schema  # noqa: F401  (registers the OpenAPI extension)
