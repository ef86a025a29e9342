"""Object-level authorisation: every route with an id, every kind of id, every role.

Routes come from the app's URL map (a new route with an id is covered, or the test says which
kind of object its id names). Ids: every seeded object (documents of every visibility, files
and links, users, groups, a category), deleted ones, their neighbours, 0, the largest id and
random ones. Roles: anonymous, three clients (in group A, in group B, in no group: so each sees
documents granted to the others' ids), a disabled client holding a token, and an admin.

A leak is any answer that gives access or tells more than "no such thing":
- anonymous and disabled: 401 for everything;
- clients on admin routes: 403 whatever the id (a 404 would tell which ids exist), and the
  object unchanged after a PATCH or DELETE;
- clients on document routes: 200 only for a visible document; a hidden one is a 404 with
  exactly the body and headers of a missing one, never a 403;
- admins: 200 for what exists, 404 for what does not.
"""

from __future__ import annotations

import random

import pytest

from sequoalpha.extensions import db
from sequoalpha.models import Category, Document, Group, User
from support import figures
from support.api import login

from .support import bearer, seed_portal

KINDS = {
    "document_id": "document",
    "user_id": "user",
    "group_id": "group",
    "category_id": "category",
    "passkey_id": "passkey",
}  # a user's own passkeys: none seeded, so every id is someone else's or none
SECONDARY = {"number": 1}  # a part of the object (a document's version): the object's id decides
VISIBLE = {  # labels of the seeded documents each client may see
    "client1": {"everyone", "group_a", "client1_only"},
    "client2": {"everyone"},
    "client3": {"everyone"},
}
PATCHES = {  # a valid change of each kind of object: only authorisation can refuse it
    "document": {"title": "Renamed by an attacker", "visibility": {"everyone": True}},
    "user": {"is_admin": True, "full_name": "Renamed by an attacker"},
    "group": {"name": "Renamed by an attacker"},
    "category": {"name": "Renamed by an attacker"},
}
VOLATILE_HEADERS = {"Date", "Content-Length", "Set-Cookie"}


def _routes(app) -> list[tuple[str, str, str]]:
    """(method, rule, id argument) of every /api/ route with an id."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or not rule.arguments:
            continue
        objects = sorted(rule.arguments - SECONDARY.keys())
        assert len(objects) == 1, f"{rule.rule}: which argument names the object?"
        (argument,) = objects
        assert argument in KINDS, f"{rule.rule}: which kind of object does <{argument}> name? Add it to KINDS"
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((method, rule.rule, argument))
    return found


def _url(rule: str, argument: str, value: int) -> str:
    for secondary, fixed in SECONDARY.items():
        rule = rule.replace(f"<int:{secondary}>", str(fixed))
    return rule.replace(f"<int:{argument}>", str(value))


def _snapshot(app) -> dict:
    """Everything a forbidden PATCH or DELETE could have changed."""
    with app.app_context():
        return {
            "documents": sorted(
                (d.id, d.title, d.description, d.category_id, d.everyone)
                for d in db.session.scalars(db.select(Document))
            ),
            "users": sorted(
                (u.id, u.email, u.is_admin, u.is_active, u.token_version) for u in db.session.scalars(db.select(User))
            ),
            "groups": sorted((g.id, g.name, tuple(g.user_ids)) for g in db.session.scalars(db.select(Group))),
            "categories": sorted((c.id, c.name) for c in db.session.scalars(db.select(Category))),
        }


@pytest.mark.slow
def test_every_id_route_as_every_role(app, client, make_user):
    portal = seed_portal(app, client, make_user)
    disabled = make_user("disabled1", groups=["Fund A"])
    disabled_headers = bearer(app, disabled)
    with app.app_context():
        db.session.get(User, disabled).is_active = False
        db.session.commit()
    # A deleted user, group and category, to have deleted ids of every kind.
    admin_headers = login(client, "admin")
    gone_user = make_user("gone")
    assert client.delete(f"/api/admin/users/{gone_user}", headers=admin_headers).status_code == 204
    gone_group = client.post("/api/admin/groups", headers=admin_headers, json={"name": "Gone"}).get_json()["id"]
    assert client.delete(f"/api/admin/groups/{gone_group}", headers=admin_headers).status_code == 204
    gone_category = client.post("/api/admin/categories", headers=admin_headers, json={"name": "Gone"}).get_json()["id"]
    assert client.delete(f"/api/admin/categories/{gone_category}", headers=admin_headers).status_code == 204

    existing = {
        "document": {i: label for label, i in portal.docs.items() if not label.endswith("_deleted")},
        "user": {i: name for name, i in portal.users.items()} | {disabled: "disabled1"},
        "group": {i: name for name, i in portal.groups.items()},
        "category": {i: name for name, i in portal.categories.items()},
        "passkey": {},
    }
    deleted = {
        "document": [portal.docs["file_deleted"], portal.docs["link_deleted"]],
        "user": [gone_user],
        "group": [gone_group],
        "category": [gone_category],
        "passkey": [],
    }
    rng = random.Random(20261126)
    ids = {}
    for kind, present in existing.items():
        top = max([0, *present, *deleted[kind]])
        ids[kind] = sorted(
            set(present)
            | set(deleted[kind])
            | {0, top + 1, top + 2, 2**31 - 1}
            | {rng.randint(1, 2**31 - 1) for _ in range(3)}
            | {rng.randint(top + 3, 1000)}
        )

    client = app.test_client()  # no cookies from the sign-ins above: each role is its header only
    roles = {"anonymous": {}, "disabled": disabled_headers, "admin": bearer(app, portal.users["admin"])}
    for name in VISIBLE:
        roles[name] = bearer(app, portal.users[name])
    missing_body = {}  # (method, rule) -> the 404 a client gets for an id that does not exist

    cells = leaks = confirming = 0
    problems: list[str] = []
    before = _snapshot(app)

    def observe(method, url, headers, kind):
        response = client.open(url, method=method, headers=headers, json=PATCHES[kind] if method == "PATCH" else None)
        response.close()
        kept = {k: v for k, v in response.headers.items() if k not in VOLATILE_HEADERS}
        return response.status_code, response.get_json(silent=True), kept

    for method, rule, argument in _routes(app):
        kind = KINDS[argument]
        admin_route = rule.startswith("/api/admin/")
        for role, headers in roles.items():
            for value in ids[kind]:
                if role == "admin" and method in {"PATCH", "DELETE", "POST"} and value in existing[kind]:
                    continue  # an admin may change (or act on) what exists: not an authorisation question
                status, body, kept = observe(method, _url(rule, argument, value), headers, kind)
                cells += 1
                label = existing[kind].get(value)
                where = f"{method} {_url(rule, argument, value)} as {role} ({kind} {label or 'missing/deleted'})"
                if role in {"anonymous", "disabled"}:
                    expected = {401}
                elif role == "admin" and "<int:number>" in rule and label and label.startswith("link"):
                    expected = {404}  # a link has no file versions
                elif role == "admin":
                    expected = {200, 302} if value in existing[kind] else {404}
                elif admin_route:
                    expected = {403}
                elif label is not None and label.split("_", 1)[1] in VISIBLE[role]:
                    expected = {200, 302}
                else:
                    expected = {404}
                if status not in expected:
                    leaks += 1
                    if status == 403 and not admin_route:
                        confirming += 1
                    problems.append(f"{where}: {status}, expected {sorted(expected)}: {body}")
                    continue
                if status == 404 and role in VISIBLE:
                    # A hidden document must look exactly like a missing one (id 0 comes first).
                    key = (method, rule)
                    if label is None and key not in missing_body:
                        missing_body[key] = (body, kept)
                    elif (body, kept) != missing_body[key]:
                        leaks += 1
                        problems.append(f"{where}: 404 differs from a missing id's: {body} vs {missing_body[key][0]}")

    after = _snapshot(app)
    if after != before:
        leaks += 1
        problems.append(f"a forbidden PATCH/DELETE changed something: {before} -> {after}")

    lists = _check_lists(client, roles, portal, problems)
    figures.add(
        "authz",
        cells=cells + lists,
        leaks=leaks + len([p for p in problems if p.startswith("list")]),
        confirming_403=confirming,
    )
    assert cells > 500
    assert not problems, "\n".join(problems[:40])


def _check_lists(client, roles, portal, problems) -> int:
    """Each client's list and searches show exactly what they may see."""
    checked = 0
    for role, visible in VISIBLE.items():
        expected = {i for label, i in portal.docs.items() if label.split("_", 1)[1] in visible}
        for query in ("", "?q=File", "?q=admins", f"?category_id={portal.categories['reports']}", "?per_page=100"):
            response = client.get(f"/api/documents{query}", headers=roles[role])
            checked += 1
            shown = {item["id"] for item in response.get_json()["items"]}
            if not shown <= expected:
                problems.append(f"list {query or '(all)'} as {role} shows hidden documents {shown - expected}")
            if query in ("", "?per_page=100") and shown != expected:
                problems.append(f"list {query or '(all)'} as {role}: {shown} instead of {expected}")
    return checked
