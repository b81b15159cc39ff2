"""Create a support staff account in a role: `createstaff alice --email a@x --role agent`.

There is never a default password: it is typed twice (interactive), read from standard input
(--password-stdin), or generated and shown once.
"""

import getpass
import secrets
import sys
from typing import Any

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from tickets.roles import ROLE_BY_NAME


class Command(BaseCommand):
    help = "Create a support agent or lead with a staff login."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--email", required=True)
        parser.add_argument("--role", choices=sorted(ROLE_BY_NAME), required=True)
        parser.add_argument("--first-name", default="", help="Shown to customers in replies.")
        parser.add_argument("--password-stdin", action="store_true")

    def _password(self, password_stdin: bool) -> tuple[str, bool]:
        if password_stdin:
            return sys.stdin.readline().rstrip("\n"), False
        if sys.stdin.isatty():
            first = getpass.getpass("Password: ")
            if first != getpass.getpass("Password (again): "):
                raise CommandError("The passwords do not match.")
            return first, False
        return secrets.token_urlsafe(18), True

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        if User.objects.filter(username=options["username"]).exists():
            raise CommandError(f"User {options['username']!r} already exists.")
        password, generated = self._password(options["password_stdin"])
        user = User(
            username=options["username"],
            email=options["email"],
            first_name=options["first_name"],
            is_staff=True,
        )
        try:
            password_validation.validate_password(password, user)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        user.set_password(password)
        user.save()
        user.groups.add(Group.objects.get(name=ROLE_BY_NAME[options["role"]]))
        self.stdout.write(f"Created {options['role']} {user.username}.")
        if generated:
            self.stdout.write(f"Password (shown once, change it after logging in): {password}")
