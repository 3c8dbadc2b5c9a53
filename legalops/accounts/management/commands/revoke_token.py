from django.core.management.base import BaseCommand, CommandError, CommandParser

from legalops.accounts.models import ApiToken
from legalops.accounts.services import token_revoke


class Command(BaseCommand):
    help = "Revoke a user's API tokens (all, or the one whose key starts with --hint)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--hint", default="", help="the first characters of the key")

    def handle(self, *args: object, **options: object) -> None:
        tokens = ApiToken.objects.filter(
            user__username=options["username"], revoked_at__isnull=True
        )
        if options["hint"]:
            tokens = tokens.filter(key_hint__startswith=options["hint"])
        revoked = sum(token_revoke(token=token) for token in tokens)
        if not revoked:
            raise CommandError("no active token matched")
        self.stdout.write(f"revoked {revoked} token(s) of {options['username']}")
