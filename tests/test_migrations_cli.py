"""Migrations build the schema from empty and match the models; the operator CLI works."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import inspect, text

from sequoalpha import create_app
from sequoalpha.documents import search
from sequoalpha.extensions import db
from support.api import login, make_config


@pytest.fixture
def empty_app(database_url, tmp_path):
    app = create_app(make_config(database_url, tmp_path))
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    yield app
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.engine.dispose()


def test_upgrade_from_empty_matches_the_models(empty_app):
    with empty_app.app_context():
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert {"users", "groups", "user_groups", "categories", "revoked_tokens", "audit_events"} <= tables
        with db.engine.connect() as conn:
            # The search structures (an FTS5 table, a GIN index) are no models: documents/search.py.
            context = MigrationContext.configure(conn, opts={"include_name": search.outside_models})
            diff = compare_metadata(context, db.metadata)
            if db.engine.dialect.name == "sqlite":  # a later rebuild of these tables must keep it
                created = dict(conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'table'")).all())
                assert all("AUTOINCREMENT" in created[table] for table in ("users", "documents")), created
        assert diff == [], diff


def test_create_admin_cli_then_sign_in(empty_app):
    with empty_app.app_context():
        upgrade()
    runner = empty_app.test_cli_runner()
    result = runner.invoke(
        args=["create-admin", "--username", "Boss", "--email", "boss@example.com", "--password-stdin"],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    assert "a long enough password" not in result.output
    client = empty_app.test_client()
    me = client.get("/api/me", headers=login(client, "boss", "a long enough password")).get_json()
    assert me["is_admin"] and me["username"] == "boss"
    again = runner.invoke(
        args=["create-admin", "--username", "boss", "--email", "b2@example.com", "--password-stdin"],
        input="a long enough password\n",
    )
    assert again.exit_code == 1 and "already exists" in again.output
    weak = runner.invoke(
        args=["create-admin", "--username", "kid", "--email", "kid@example.com", "--password-stdin"], input="short\n"
    )
    assert weak.exit_code == 2 and "password" in weak.output
    first_run = runner.invoke(args=["create-admin", "--first-run"])
    assert first_run.exit_code == 0 and first_run.output == ""  # an admin exists: nothing to do
