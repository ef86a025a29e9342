"""The fixtures of the API tests: an app on a fresh schema (SQLite, and PostgreSQL when
TEST_DATABASE_URL is set), a test client, a user factory and signed-in headers. Loaded as a
plugin by tests/conftest.py."""

import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import event

from sequoalpha import create_app
from sequoalpha.accounts.passwords import hash_password
from sequoalpha.config import database_url as normalise_url
from sequoalpha.extensions import db as _db
from sequoalpha.models import Group, User

from .api import PASSWORD, login, make_config
from .postgres import scratch_database


@pytest.fixture(scope="session")
def postgres_url():
    """A scratch PostgreSQL database for this run, dropped at the end."""
    url, drop = scratch_database()
    yield normalise_url(url)
    drop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def app_config(database_url, tmp_path) -> dict:
    """The config of the `app` fixture; override keys here before `app` is built."""
    return make_config(database_url, tmp_path)


@pytest.fixture(scope="session")
def sqlite_schema(tmp_path_factory) -> Path:
    """A SQLite file holding the whole schema, made once: a test's SQLite database is a copy of
    it (creating the schema anew for every test was most of the quick tier's time)."""
    folder = tmp_path_factory.mktemp("schema")
    path = folder / "schema.db"
    app = create_app(make_config(f"sqlite:///{path}", folder))
    with app.app_context():
        _db.create_all()
        _db.engine.dispose()
    return path


@pytest.fixture
def app(app_config, request):
    uri = app_config["SQLALCHEMY_DATABASE_URI"]
    sqlite_file = Path(uri.removeprefix("sqlite:///")) if uri.startswith("sqlite:///") else None
    copied = sqlite_file is not None and not sqlite_file.exists()  # a test's own fresh file
    if copied:
        shutil.copyfile(request.getfixturevalue("sqlite_schema"), sqlite_file)
    app = create_app(app_config)
    if not copied:
        with app.app_context():
            _db.drop_all()
            _db.create_all()
    yield app
    with app.app_context():
        _db.session.remove()
        if not copied:
            _db.drop_all()
        _db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def another_app(app_config):
    """Another app on the test's database (a second process, or another config): another_app(KEY=value)
    overrides app_config. Its connections are closed at the end (psycopg warns of any left open)."""
    made = []

    def factory(**overrides):
        made.append(create_app({**app_config, **overrides}))
        return made[-1]

    yield factory
    for other in made:
        with other.app_context():
            _db.session.remove()
            _db.engine.dispose()


@pytest.fixture
def make_user(app):
    """Create a user and return their id: make_user("ann", is_admin=True, groups=["Fund A"])."""

    def factory(username, password=PASSWORD, is_admin=False, is_active=True, groups=(), email=None):
        with app.app_context():
            members_of = []
            for name in groups:
                group = _db.session.scalar(_db.select(Group).where(Group.name == name)) or Group(name=name)
                members_of.append(group)
            user = User(
                username=username,
                email=email or f"{username}@example.com",
                password_hash=hash_password(password),
                is_admin=is_admin,
                is_active=is_active,
                groups=members_of,
            )
            _db.session.add(user)
            _db.session.commit()
            return user.id

    return factory


@pytest.fixture
def admin_headers(client, make_user):
    make_user("admin", is_admin=True)
    return login(client, "admin")


@pytest.fixture
def user_headers(client, make_user):
    make_user("client1")
    return login(client, "client1")


@contextmanager
def statements(app):
    """The SQL text of every statement the app sends to the database meanwhile."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _executemany):
        seen.append(" ".join(statement.split()))

    with app.app_context():
        engine = _db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)
