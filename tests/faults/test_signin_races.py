"""Concurrent wrong passwords get no more checks than the lock allows: the attempt is counted
(atomically, and committed) before the password is checked, for an account, for a name that is
no account, and for the current password of a password change. Threads on the app, SQLite and
PostgreSQL; each check is counted and slowed so that a race has room to show."""

from datetime import timedelta

import pytest

from sequoalpha.accounts import routes
from sequoalpha.accounts.lockout import LOCK_AFTER
from sequoalpha.extensions import db
from sequoalpha.models import AuditEvent, UnknownLogin, User, utcnow
from support.api import PASSWORD, login

from .race_support import Counted, at_once

CONCURRENT = 12
WRONG = {"password": "not the password"}


@pytest.fixture
def checks(monkeypatch):
    """The password checks of sign-in and password change, and the dummy check of unknown names."""
    counted = {"check_password": Counted(routes.check_password), "burn_check": Counted(routes.burn_check)}
    for name, wrapper in counted.items():
        monkeypatch.setattr(routes, name, wrapper)
    return counted


def sign_in(name):
    return lambda client: client.post("/api/login", json={"username": name, **WRONG})


def expire_the_lock(app, model, key, failures=LOCK_AFTER):
    with app.app_context():
        row = db.session.get(model, key)
        row.failed_logins, row.locked_until = failures, utcnow() - timedelta(seconds=1)
        db.session.commit()


def test_after_an_account_lock_expires_concurrent_wrong_sign_ins_get_one_check(app, make_user, checks):
    user_id = make_user("ann")
    expire_the_lock(app, User, user_id)
    statuses = [r.status_code for r in at_once(app, [sign_in("ann")] * CONCURRENT)]
    assert checks["check_password"].calls == 1, statuses
    assert sorted(statuses) == [401] + [429] * (CONCURRENT - 1)
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user.failed_logins == LOCK_AFTER + 1 and user.locked_until > utcnow() + timedelta(seconds=30)


def test_after_a_name_lock_expires_concurrent_sign_ins_get_one_check(app, client, checks):
    client.post("/api/login", json={"username": "nobody", **WRONG})  # makes the name's row
    expire_the_lock(app, UnknownLogin, "nobody")
    checks["burn_check"].calls = 0
    statuses = [r.status_code for r in at_once(app, [sign_in("nobody")] * CONCURRENT)]
    assert checks["burn_check"].calls == 1, statuses
    assert sorted(statuses) == [401] + [429] * (CONCURRENT - 1)


@pytest.mark.parametrize("name", ["ann", "nobody"])
def test_concurrent_wrong_sign_ins_from_the_start_get_exactly_the_allowed_checks(app, make_user, checks, name):
    make_user("ann")
    statuses = [r.status_code for r in at_once(app, [sign_in(name)] * CONCURRENT)]
    assert checks["check_password"].calls + checks["burn_check"].calls == LOCK_AFTER, statuses
    assert sorted(statuses) == [401] * LOCK_AFTER + [429] * (CONCURRENT - LOCK_AFTER)
    with app.app_context():  # every answer is audited: the wrong passwords and the refusals
        reasons = sorted(
            event.detail["reason"]
            for event in db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "login_failed"))
        )
    assert (
        reasons
        == ["locked"] * (CONCURRENT - LOCK_AFTER)
        + ["unknown user" if name == "nobody" else "wrong password"] * LOCK_AFTER
    )


def test_a_right_password_among_concurrent_wrong_ones_is_checked_once(app, make_user, checks):
    user_id = make_user("ann")
    right = lambda client: client.post("/api/login", json={"username": "ann", "password": PASSWORD})  # noqa: E731
    responses = at_once(app, [right] + [sign_in("ann")] * 3)
    assert checks["check_password"].calls == 4
    assert responses[0].status_code == 200 and all(r.status_code == 401 for r in responses[1:])
    with app.app_context():
        assert db.session.get(User, user_id).failed_logins <= 3


def test_concurrent_wrong_current_passwords_get_exactly_the_allowed_checks(app, client, make_user, checks):
    make_user("ann")
    headers = login(client, "ann")
    checks["check_password"].calls = 0
    body = {"current_password": "guess guess", "new_password": "a much better passphrase"}
    change = lambda c: c.post("/api/me/password", json=body, headers=headers)  # noqa: E731
    statuses = [r.status_code for r in at_once(app, [change] * CONCURRENT)]
    assert checks["check_password"].calls == LOCK_AFTER, statuses
    assert sorted(statuses) == [422] * LOCK_AFTER + [429] * (CONCURRENT - LOCK_AFTER)
