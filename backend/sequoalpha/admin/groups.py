"""Admin routes for groups: list, create, read, rename or change members, delete."""

from flask_jwt_extended import current_user
from sqlalchemy import select

from .. import audit
from ..accounts.guard import admin_required
from ..extensions import db
from ..integrity import commit_or_conflict, existing, unique
from ..models import Group, User
from ..pagination import paginate
from ..schemas.accounts import GroupPageSchema, GroupSchema, GroupUpdateSchema
from ..schemas.fields import PageArgsSchema
from . import blp

NAME_TAKEN = "A group with this name already exists."


@blp.get("/groups")
@admin_required
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, GroupPageSchema)
def list_groups(args):
    """Every group, by name."""
    return paginate(select(Group).order_by(Group.name), args["page"], args["per_page"])


@blp.post("/groups")
@admin_required
@blp.arguments(GroupSchema)
@blp.response(201, GroupSchema)
@blp.alt_response(409, description="Name already taken")
def create_group(data):
    """Create a group, optionally with members."""
    unique(Group.name, data["name"], None, NAME_TAKEN)
    group = Group(name=data["name"], members=existing(User, data["user_ids"], "user_ids"))
    db.session.add(group)
    db.session.flush()
    audit.record("group_created", current_user, detail={"group_id": group.id, "name": group.name})
    commit_or_conflict(NAME_TAKEN)
    return group


@blp.get("/groups/<int:group_id>")
@admin_required
@blp.response(200, GroupSchema)
def get_group(group_id):
    """One group."""
    return db.get_or_404(Group, group_id)


@blp.patch("/groups/<int:group_id>")
@admin_required
@blp.arguments(GroupUpdateSchema)
@blp.response(200, GroupSchema)
@blp.alt_response(409, description="Name already taken")
def update_group(data, group_id):
    """Rename a group or replace its members."""
    group = db.get_or_404(Group, group_id)
    if "name" in data:
        unique(Group.name, data["name"], group.id, NAME_TAKEN)
        group.name = data["name"]
    if "user_ids" in data:
        group.members = existing(User, data["user_ids"], "user_ids")
    audit.record("group_updated", current_user, detail={"group_id": group.id, "fields": sorted(data)})
    commit_or_conflict(NAME_TAKEN)
    return group


@blp.delete("/groups/<int:group_id>")
@admin_required
@blp.response(204)
def delete_group(group_id):
    """Delete a group; its members and documents stay."""
    group = db.get_or_404(Group, group_id)
    audit.record("group_deleted", current_user, detail={"group_id": group.id, "name": group.name})
    db.session.delete(group)
    db.session.commit()
