"""Fixed-window request counters kept in the database (every Gunicorn worker and every host
counts together; an in-process limiter would be per worker). Keys are hashed, so the table holds
no client addresses or e-mail addresses."""

import hashlib
import math
from datetime import timedelta

from flask_smorest import abort
from sqlalchemy import case, delete

from ..extensions import db, upsert
from ..models import ThrottleCounter, utcnow


def hit(key: str, window: timedelta) -> tuple[int, int]:
    """Count one request under `key`: (the count in the current window, seconds until it ends)."""
    now = utcnow()
    hashed = hashlib.sha256(key.encode("utf-8")).hexdigest()
    stale = ThrottleCounter.window_start <= now - window
    stmt = upsert(ThrottleCounter).values(key=hashed, window_start=now, count=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=["key"],
        set_={
            "count": case((stale, 1), else_=ThrottleCounter.count + 1),
            "window_start": case((stale, now), else_=ThrottleCounter.window_start),
        },
    ).returning(ThrottleCounter.count, ThrottleCounter.window_start)
    count, started = db.session.execute(stmt).one()
    return count, max(1, math.ceil((started + window - now).total_seconds()))


def purge(longest: timedelta) -> None:
    """Forget counters whose window ended long ago."""
    db.session.execute(delete(ThrottleCounter).where(ThrottleCounter.window_start < utcnow() - longest))


def limit(key: str, most: int, window: timedelta, message: str) -> None:
    """Count the request; past `most` in the window, commit the count and answer 429 + Retry-After."""
    count, wait = hit(key, window)
    if count > most:
        db.session.commit()
        abort(429, message=message, headers={"Retry-After": str(wait)})
