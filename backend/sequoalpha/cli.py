"""Operator commands: `flask --app main create-admin` (and `db …` from Flask-Migrate)."""

import secrets
import sys

import click
from flask import Flask
from flask.cli import with_appcontext
from marshmallow import ValidationError
from sqlalchemy import or_, select

from .accounts.passwords import hash_password
from .extensions import db
from .models import User
from .schemas.accounts import UserCreateSchema


def _prompt_password() -> str:
    return click.prompt("Password (10-128 characters)", hide_input=True, confirmation_prompt=True)


@click.command("create-admin")
@click.option("--username", help="Sign-in name (letters, digits, . _ -).")
@click.option("--email", help="Email address.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option(
    "--first-run", is_flag=True, help="Only when no admin exists yet; offer to create one (used by ./manage.sh dev)."
)
@with_appcontext
def create_admin(username, email, password_stdin, first_run):
    """Create an administrator account."""
    if first_run:
        if db.session.scalar(select(User.id).where(User.is_admin).limit(1)) is not None:
            return
        if not sys.stdin.isatty():
            click.echo("No admin yet: run ./manage.sh create-admin to create one.", err=True)
            return
        if not click.confirm("No admin account exists yet. Create one now?", default=True):
            return
    username = username or click.prompt("Username")
    email = email or click.prompt("Email")
    generated = False
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif first_run and click.confirm("Generate a strong password (shown once)?", default=True):
        password, generated = secrets.token_urlsafe(18), True
    else:
        password = _prompt_password()
    try:
        data = UserCreateSchema().load({"username": username, "email": email, "password": password})
    except ValidationError as exc:
        for field, messages in exc.messages.items():
            click.echo(f"error: {field}: {' '.join(messages)}", err=True)
        sys.exit(2)
    user = User(username=data["username"], email=data["email"], is_admin=True)
    if (
        db.session.scalar(select(User.id).where(or_(User.username == user.username, User.email == user.email)))
        is not None
    ):
        click.echo("error: a user with this username or email already exists", err=True)
        sys.exit(1)
    user.password_hash = hash_password(password)
    db.session.add(user)
    db.session.commit()
    click.echo(f"Admin {user.username!r} created.")
    if generated:
        click.echo(f"Password (shown only now): {password}")


def init_app(app: Flask) -> None:
    from .documents.index_cli import documents
    from .documents.storage_cli import storage
    from .mail.cli import mail

    app.cli.add_command(create_admin)
    app.cli.add_command(storage)
    app.cli.add_command(mail)
    app.cli.add_command(documents)
