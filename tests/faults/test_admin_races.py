"""Two admins taking each other's admin rights away at the same moment (demote, disable, delete,
and mixes) never leave the portal without an active admin, and every answer is a 2xx, 403, 404 or
409, never a 5xx. Threads on the app, each with its own connection; SQLite and PostgreSQL, 10
rounds each."""

import pytest

from sequoalpha.extensions import db
from sequoalpha.models import AuditEvent, User
from support.api import login

from .race_support import at_once

ROUNDS = 10
DEMOTE, DISABLE = {"is_admin": False}, {"is_active": False}


def change(headers, user_id, body):
    if body is None:
        return lambda client: client.delete(f"/api/admin/users/{user_id}", headers=headers)
    return lambda client: client.patch(f"/api/admin/users/{user_id}", headers=headers, json=body)


def fresh_admins(app, client, make_user, names):
    with app.app_context():
        db.session.execute(db.delete(AuditEvent))
        db.session.execute(db.delete(User))
        db.session.commit()
    ids = [make_user(name, is_admin=True) for name in names]
    return ids, [login(client, name) for name in names]


def active_admins(app):
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(User).where(User.is_admin, User.is_active))


@pytest.mark.parametrize(
    ("first", "second"),
    [(DEMOTE, DEMOTE), (None, None), (DISABLE, DISABLE), (DEMOTE, None), (DISABLE, None)],
    ids=["demote", "delete", "disable", "demote-delete", "disable-delete"],
)
def test_two_admins_removing_each_other_leave_one(app, client, make_user, first, second):
    for _ in range(ROUNDS):
        (ann, bob), (ann_headers, bob_headers) = fresh_admins(app, client, make_user, ["ann", "bob"])
        responses = at_once(app, [change(ann_headers, bob, first), change(bob_headers, ann, second)])
        statuses = sorted(r.status_code for r in responses)
        assert all(s in (200, 204, 401, 403, 404, 409) for s in statuses), [r.get_json() for r in responses]
        assert active_admins(app) == 1, statuses
        assert sum(s in (200, 204) for s in statuses) == 1, statuses
        assert all(r.is_json and r.get_json()["code"] == r.status_code for r in responses if r.status_code >= 400)


def test_three_admins_removing_each_other_in_a_ring_leave_one(app, client, make_user):
    for _ in range(ROUNDS):
        ids, headers = fresh_admins(app, client, make_user, ["ann", "bob", "cat"])
        ring = [change(headers[n], ids[(n + 1) % 3], DEMOTE if n % 2 else None) for n in range(3)]
        statuses = sorted(r.status_code for r in at_once(app, ring))
        assert all(s in (200, 204, 401, 403, 404, 409) for s in statuses), statuses
        assert active_admins(app) >= 1, statuses


def test_the_last_admin_is_kept_when_asked_in_sequence(app, client, make_user):
    """The rule without the race: an admin who is no longer one cannot remove the last admin."""
    (ann, bob), (ann_headers, bob_headers) = fresh_admins(app, client, make_user, ["ann", "bob"])
    assert client.patch(f"/api/admin/users/{bob}", headers=ann_headers, json=DEMOTE).status_code == 200
    r = client.delete(f"/api/admin/users/{ann}", headers=bob_headers)
    assert r.status_code == 403 and active_admins(app) == 1
