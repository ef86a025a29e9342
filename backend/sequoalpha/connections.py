"""Pooled database connections are checked before use only after they sat idle.

`pool_pre_ping` costs a round trip (`SELECT 1`) on every checkout, i.e. on every request. Under
load it finds nothing the first failing statement would not: SQLAlchemy recognises a dropped
connection (`is_disconnect`), invalidates the whole pool and that request answers a JSON 503
(errors.py); the next checkout connects afresh. Where a stale connection meets a user with no
error in sight is after a quiet spell (a database restart at night): so a connection idle for
more than IDLE_SECONDS is pinged at checkout, and a dead one is replaced transparently.
"""

import time
from functools import wraps

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import Pool

from .extensions import db

IDLE_SECONDS = 10.0
_RETURNED = "sequoalpha_returned_at"


@event.listens_for(Pool, "connect")
def _connected(_dbapi_connection, record):
    record.info[_RETURNED] = time.monotonic()


@event.listens_for(Pool, "checkin")
def _returned(_dbapi_connection, record):
    if record is not None:  # None: the connection was invalidated meanwhile
        record.info[_RETURNED] = time.monotonic()


def _alive(dbapi_connection) -> bool:
    try:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT 1")
        cursor.close()
        # Outside any transaction again, as the pool keeps it; a COMMIT, since a ROLLBACK would
        # make psycopg drop the statements it has prepared on this connection.
        dbapi_connection.commit()
    except Exception:  # any failure means: do not use this connection
        return False
    return True


@event.listens_for(Pool, "checkout")
def _ping_if_idle(dbapi_connection, record, _proxy):
    """DisconnectionError tells the pool to drop this connection and check out another (a new
    one, tried the same way): what pool_pre_ping does, only after IDLE_SECONDS of rest."""
    if time.monotonic() - record.info.get(_RETURNED, 0.0) <= IDLE_SECONDS:
        return
    if not _alive(dbapi_connection):
        raise DisconnectionError("a pooled connection died while it was idle")
    record.info[_RETURNED] = time.monotonic()


def read_only(view):
    """For a view that only reads: its transaction ends with a COMMIT rather than the ROLLBACK of
    the session's teardown. psycopg forgets every statement it has prepared on a connection at a
    ROLLBACK, so a read that ended that way would make the database plan the hot path's
    statements again on every request (for the list, half the database's work)."""

    @wraps(view)
    def committed(*args, **kwargs):
        response = view(*args, **kwargs)
        session = db.session
        if not (session.new or session.dirty or session.deleted):  # a change left by mistake is not kept
            session.commit()
        return response

    return committed
