from django.core.management.base import BaseCommand, CommandError, CommandParser

from legalops.accounts.services import agency_create


class Command(BaseCommand):
    help = "Create an agency and its first officer; prints the officer's API token last."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--email", required=True, help="the officer's email (username)")
        parser.add_argument("--country", default="US", help="ISO 3166-1 alpha-2 (default US)")

    def handle(self, *args: object, **options: object) -> None:
        try:
            agency, issued = agency_create(
                name=str(options["name"]),
                email=str(options["email"]),
                country=str(options["country"]),
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Created agency {agency.name} ({agency.id}), officer {options['email']}."
        )
        self.stdout.write("API token (shown once):")
        self.stdout.write(issued.key)
