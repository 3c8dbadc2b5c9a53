from django.core.management.base import BaseCommand, CommandError, CommandParser

from legalops.accounts.models import ApiToken
from legalops.accounts.services import token_rotate


class Command(BaseCommand):
    help = "Revoke a user's newest active token and issue a new one; prints the key last."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: object, **options: object) -> None:
        token = (
            ApiToken.objects.filter(user__username=options["username"], revoked_at__isnull=True)
            .order_by("-created_at")
            .first()
        )
        if token is None:
            raise CommandError(f"{options['username']} has no active token")
        issued = token_rotate(token=token)
        self.stdout.write(f"revoked {token.key_hint}…; new API token (shown once):")
        self.stdout.write(issued.key)
