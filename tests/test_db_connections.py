"""A pooled connection that died while it sat idle (the database restarted at night) is replaced
before a request uses it; busy connections are not pinged (connections.py)."""

import psycopg

from sequoalpha import connections
from sequoalpha.extensions import db
from support.api import login


def _kill(raw) -> None:
    """Cut a DBAPI connection the way a database restart does."""
    if isinstance(raw, psycopg.Connection):
        with psycopg.connect(raw.info.dsn, autocommit=True) as killer:
            killer.execute("SELECT pg_terminate_backend(%s)", (raw.info.backend_pid,))
    else:
        raw.close()


def test_a_connection_that_died_while_idle_is_replaced_unnoticed(app, client, make_user):
    make_user("ann")
    headers = login(client, "ann")
    with app.app_context():
        pooled = db.engine.raw_connection()  # the one connection the requests so far used
        raw, info = pooled.dbapi_connection, pooled.info
        pooled.close()  # back to the pool
        _kill(raw)
        info[connections._RETURNED] -= connections.IDLE_SECONDS + 1
    r = client.get("/api/me", headers=headers)
    assert r.status_code == 200, r.get_json()
    with app.app_context():
        pooled = db.engine.raw_connection()
        assert pooled.dbapi_connection is not raw  # replaced, not reused
        pooled.close()


def test_a_busy_connection_is_not_pinged(app, client, make_user, monkeypatch):
    make_user("ann")
    headers = login(client, "ann")
    pings = []
    real = connections._alive
    monkeypatch.setattr(connections, "_alive", lambda conn: pings.append(conn) or real(conn))
    for _ in range(3):
        assert client.get("/api/me", headers=headers).status_code == 200
    assert pings == []  # no round trip before a request's own statements
    with app.app_context():
        pooled = db.engine.raw_connection()
        info = pooled.info
        pooled.close()
        info[connections._RETURNED] -= connections.IDLE_SECONDS + 1
    assert client.get("/api/me", headers=headers).status_code == 200
    assert len(pings) == 1  # after a rest, one
