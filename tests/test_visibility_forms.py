"""The visibility rule's two forms agree: `visible_to` (EXISTS, per document) and `visible_ids` /
the list's total (a count of that union of the grant indexes), on a random grant matrix, for every user."""

import random

from sqlalchemy import select

from sequoalpha.documents.listing import find
from sequoalpha.documents.visibility import visible_ids, visible_to
from sequoalpha.extensions import db
from sequoalpha.models import Document, DocumentGroupGrant, DocumentUserGrant, Group, User


def test_the_exists_form_and_the_counting_form_agree_on_a_random_grant_matrix(app):
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    with app.app_context():
        groups = [Group(name=f"group {g}") for g in range(6)]
        users = [
            User(
                username=f"user{u}",
                email=f"user{u}@example.com",
                password_hash="-",
                is_admin=rng.random() < 0.1,
                groups=rng.sample(groups, rng.randint(0, 3)),
            )
            for u in range(15)
        ]
        db.session.add_all(groups + users)
        db.session.flush()
        for d in range(60):
            document = Document(
                kind="link", title=f"doc {d}", external_url="https://example.com/", everyone=rng.random() < 0.15
            )
            document.group_grants = [DocumentGroupGrant(group_id=g.id) for g in rng.sample(groups, rng.randint(0, 2))]
            document.user_grants = [DocumentUserGrant(user_id=u.id) for u in rng.sample(users, rng.randint(0, 3))]
            db.session.add(document)
        db.session.commit()

        documents = db.session.scalars(select(Document)).all()
        for user in users:
            member_of = {g.id for g in user.groups}
            expected = {
                d.id
                for d in documents
                if user.is_admin
                or d.everyone
                or user.id in {g.user_id for g in d.user_grants}
                or member_of & {g.group_id for g in d.group_grants}
            }
            by_exists = set(db.session.scalars(select(Document.id).where(visible_to(user))))
            by_union = set(db.session.scalars(visible_ids(user.id, user.is_admin)))
            context = f"seed {seed}, user {user.username} (admin: {user.is_admin})"
            assert by_exists == expected, context
            assert by_union == expected, context
            assert find({"page": 1, "per_page": 1}, user).total == len(expected), context
        assert any(0 < len(set(db.session.scalars(visible_ids(u.id, u.is_admin)))) < len(documents) for u in users)
