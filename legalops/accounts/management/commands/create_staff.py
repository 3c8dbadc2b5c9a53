from django.core.management.base import BaseCommand, CommandError, CommandParser

from legalops.accounts.roles import Role
from legalops.accounts.services import staff_create


class Command(BaseCommand):
    help = "Create a staff member or service account with a role; prints its API token last."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=[r.value for r in Role])
        parser.add_argument("--password", default=None)
        parser.add_argument("--email", default="")

    def handle(self, *args: object, **options: object) -> None:
        try:
            user, issued = staff_create(
                username=str(options["username"]),
                role=Role(options["role"]),
                password=options["password"],  # type: ignore[arg-type]
                email=str(options["email"]),
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Created {options['role']} {user.username}. API token (shown once):")
        self.stdout.write(issued.key)
