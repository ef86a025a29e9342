"""Helpers of the adversarial suite: a seeded portal to attack, tokens without a login each time."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from hypothesis import HealthCheck, Phase, settings

from sequoalpha.accounts.tokens import issue_tokens
from sequoalpha.extensions import db
from sequoalpha.models import Category, Group, User
from support.api import login
from support.documents import make_pdf, upload

SCALE = float(os.environ.get("SEQUOALPHA_FUZZ_SCALE", "1"))
RANDOM = os.environ.get("SEQUOALPHA_FUZZ_RANDOM") == "1"


def scaled(examples: int) -> int:
    return max(1, round(examples * SCALE))


def fuzz_settings(examples: int) -> settings:
    """The fuzzers' Hypothesis settings: `examples` x SEQUOALPHA_FUZZ_SCALE cases, drawn from a
    fixed seed so that every run (CI's included) tries the same cases and a failure reproduces;
    SEQUOALPHA_FUZZ_RANDOM=1 draws fresh ones to explore."""
    return settings(
        max_examples=scaled(examples),
        derandomize=not RANDOM,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )


def bearer(app, user_id: int | None) -> dict:
    """A fresh access token for the user (as login would issue), or no header for anonymous.

    Minted per request, so a fuzzed logout or password change cannot end the run's session."""
    if user_id is None:
        return {}
    with app.app_context():
        user = db.session.get(User, user_id)
        return {"Authorization": f"Bearer {issue_tokens(user)[0]}"}


@dataclass
class Portal:
    """Ids of what `seed_portal` made; `docs` maps a label to a document id."""

    users: dict[str, int] = field(default_factory=dict)
    groups: dict[str, int] = field(default_factory=dict)
    categories: dict[str, int] = field(default_factory=dict)
    docs: dict[str, int] = field(default_factory=dict)


def seed_portal(app, client, make_user) -> Portal:
    """Two groups, an admin, three clients, a category, and documents of every visibility:
    everyone / group A / client1 only / admins only, as files and as links, plus a deleted one."""
    portal = Portal()
    portal.users["admin"] = make_user("admin", is_admin=True)
    portal.users["client1"] = make_user("client1", groups=["Fund A"])
    portal.users["client2"] = make_user("client2", groups=["Fund B"])
    portal.users["client3"] = make_user("client3")
    with app.app_context():
        for name in ("Fund A", "Fund B"):
            portal.groups[name] = db.session.scalar(db.select(Group.id).where(Group.name == name))
        category = Category(name="Quarterly reports")
        db.session.add(category)
        db.session.commit()
        portal.categories["reports"] = category.id
    headers = login(client, "admin")
    visibilities = {
        "everyone": {"everyone": True},
        "group_a": {"group_ids": [portal.groups["Fund A"]]},
        "client1_only": {"user_ids": [portal.users["client1"]]},
        "admins_only": {},
        "deleted": {"everyone": True},
    }
    for label, visibility in visibilities.items():
        response = upload(
            client,
            headers,
            make_pdf(label=label),
            f"{label}.pdf",
            title=f"File {label}",
            category_id=portal.categories["reports"],
            visibility=visibility,
        )
        assert response.status_code == 201, response.get_json()
        portal.docs[f"file_{label}"] = response.get_json()["id"]
        response = client.post(
            "/api/admin/documents/link",
            headers=headers,
            json={"title": f"Link {label}", "external_url": f"https://example.com/{label}", "visibility": visibility},
        )
        assert response.status_code == 201, response.get_json()
        portal.docs[f"link_{label}"] = response.get_json()["id"]
    for label in ("file_deleted", "link_deleted"):
        assert client.delete(f"/api/admin/documents/{portal.docs[label]}", headers=headers).status_code == 204
    return portal
