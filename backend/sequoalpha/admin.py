"""Admin routes for accounts: users, groups, categories and the audit log."""
from flask_jwt_extended import current_user, jwt_required
from flask_smorest import Blueprint, abort
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from . import audit
from .auth import admin_required
from .extensions import db
from .models import AuditEvent, Category, Group, User
from .pagination import paginate
from .passwords import hash_password
from .schemas import (
    AuditPageSchema,
    AuditQuerySchema,
    CategorySchema,
    GroupPageSchema,
    GroupSchema,
    GroupUpdateSchema,
    PageArgsSchema,
    UserCreateSchema,
    UserPageSchema,
    UserSchema,
    UserUpdateSchema,
)

blp = Blueprint("admin", __name__, url_prefix="/api/admin", description="Administration")
categories_blp = Blueprint("categories", __name__, url_prefix="/api", description="Categories")


def _load_all(model, ids: list[int], field: str) -> list:
    """The rows with these ids, or a 422 naming the ones that do not exist."""
    ids = list(dict.fromkeys(ids))
    rows = db.session.scalars(select(model).where(model.id.in_(ids))).all() if ids else []
    missing = sorted(set(ids) - {row.id for row in rows})
    if missing:
        abort(422, message=f"Unknown {field}.", errors={"json": {field: [f"Unknown ids: {missing}"]}})
    return rows


def _commit_or_conflict(message: str) -> None:
    """Commit; a unique-constraint race becomes the same 409 as the checked duplicate."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        abort(409, message=message)


def _unique(model, column, value, current_id: int | None, message: str) -> None:
    """409 when another row already has this value; `errors` names the field."""
    existing = db.session.scalar(select(model.id).where(column == value))
    if existing is not None and existing != current_id:
        abort(409, message=message, errors={"json": {column.key: [message]}})


# --- users -------------------------------------------------------------------------------

@blp.get("/users")
@admin_required
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, UserPageSchema)
def list_users(args):
    """Every user, oldest first."""
    return paginate(select(User).order_by(User.id), args["page"], args["per_page"])


@blp.post("/users")
@admin_required
@blp.arguments(UserCreateSchema)
@blp.response(201, UserSchema)
@blp.alt_response(409, description="Username or email already taken")
def create_user(data):
    """Create a user."""
    username, email = data["username"].lower(), data["email"].lower()
    _unique(User, User.username, username, None, "This username is already taken.")
    _unique(User, User.email, email, None, "This email is already used by another account.")
    user = User(
        username=username,
        email=email,
        full_name=data["full_name"],
        password_hash=hash_password(data["password"]),
        is_admin=data["is_admin"],
        groups=_load_all(Group, data["group_ids"], "group_ids"),
    )
    db.session.add(user)
    db.session.flush()
    audit.record("user_created", current_user, target_user_id=user.id,
                 detail={"username": username, "is_admin": user.is_admin})
    _commit_or_conflict("This username or email is already taken.")
    return user


@blp.get("/users/<int:user_id>")
@admin_required
@blp.response(200, UserSchema)
def get_user(user_id):
    """One user."""
    return db.get_or_404(User, user_id)


@blp.patch("/users/<int:user_id>")
@admin_required
@blp.arguments(UserUpdateSchema)
@blp.response(200, UserSchema)
@blp.alt_response(409, description="Email taken, or an admin disabling/demoting themselves")
def update_user(data, user_id):
    """Change a user's email, name, password, admin flag, active flag or groups."""
    user = db.get_or_404(User, user_id)
    if user.id == current_user.id and (data.get("is_active") is False or data.get("is_admin") is False):
        abort(409, message="You cannot disable or demote your own account.")
    if "email" in data:
        data["email"] = data["email"].lower()
        _unique(User, User.email, data["email"], user.id, "This email is already used by another account.")
    if "group_ids" in data:
        user.groups = _load_all(Group, data.pop("group_ids"), "group_ids")
    if "password" in data:
        user.password_hash = hash_password(data.pop("password"))
        user.token_version += 1  # a reset password ends the user's sessions
        data["password_reset"] = True
    for field in ("email", "full_name", "is_admin", "is_active"):
        if field in data:
            setattr(user, field, data[field])
    if data.get("is_active") is False:
        user.token_version += 1
    if data.get("is_active") is True:
        user.failed_logins, user.locked_until = 0, None
    audit.record("user_updated", current_user, target_user_id=user.id, detail={"fields": sorted(data)})
    _commit_or_conflict("This email is already used by another account.")
    return user


@blp.delete("/users/<int:user_id>")
@admin_required
@blp.response(204)
@blp.alt_response(409, description="An admin deleting themselves")
def delete_user(user_id):
    """Delete a user (their audit events stay, without the link)."""
    user = db.get_or_404(User, user_id)
    if user.id == current_user.id:
        abort(409, message="You cannot delete your own account.")
    audit.record("user_deleted", current_user, target_user_id=user.id, detail={"username": user.username})
    db.session.delete(user)
    db.session.commit()


# --- groups ------------------------------------------------------------------------------

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
    _unique(Group, Group.name, data["name"], None, "A group with this name already exists.")
    group = Group(name=data["name"], members=_load_all(User, data["user_ids"], "user_ids"))
    db.session.add(group)
    db.session.flush()
    audit.record("group_created", current_user, detail={"group_id": group.id, "name": group.name})
    _commit_or_conflict("A group with this name already exists.")
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
        _unique(Group, Group.name, data["name"], group.id, "A group with this name already exists.")
        group.name = data["name"]
    if "user_ids" in data:
        group.members = _load_all(User, data["user_ids"], "user_ids")
    audit.record("group_updated", current_user, detail={"group_id": group.id, "fields": sorted(data)})
    _commit_or_conflict("A group with this name already exists.")
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


# --- categories --------------------------------------------------------------------------

@categories_blp.get("/categories")
@jwt_required()
@categories_blp.response(200, CategorySchema(many=True))
def public_categories():
    """Every category, by name (any signed-in user)."""
    return db.session.scalars(select(Category).order_by(Category.name)).all()


@blp.get("/categories")
@admin_required
@blp.response(200, CategorySchema(many=True))
def list_categories():
    """Every category, by name."""
    return db.session.scalars(select(Category).order_by(Category.name)).all()


@blp.post("/categories")
@admin_required
@blp.arguments(CategorySchema)
@blp.response(201, CategorySchema)
@blp.alt_response(409, description="Name already taken")
def create_category(data):
    """Create a category."""
    _unique(Category, Category.name, data["name"], None, "A category with this name already exists.")
    category = Category(name=data["name"])
    db.session.add(category)
    db.session.flush()
    audit.record("category_created", current_user, detail={"category_id": category.id, "name": category.name})
    _commit_or_conflict("A category with this name already exists.")
    return category


@blp.patch("/categories/<int:category_id>")
@admin_required
@blp.arguments(CategorySchema)
@blp.response(200, CategorySchema)
@blp.alt_response(409, description="Name already taken")
def update_category(data, category_id):
    """Rename a category."""
    category = db.get_or_404(Category, category_id)
    _unique(Category, Category.name, data["name"], category.id, "A category with this name already exists.")
    category.name = data["name"]
    audit.record("category_updated", current_user, detail={"category_id": category.id, "name": category.name})
    _commit_or_conflict("A category with this name already exists.")
    return category


@blp.delete("/categories/<int:category_id>")
@admin_required
@blp.response(204)
def delete_category(category_id):
    """Delete a category; its documents become uncategorised."""
    category = db.get_or_404(Category, category_id)
    audit.record("category_deleted", current_user, detail={"category_id": category.id, "name": category.name})
    db.session.delete(category)
    db.session.commit()


# --- audit -------------------------------------------------------------------------------

@blp.get("/audit")
@admin_required
@blp.arguments(AuditQuerySchema, location="query")
@blp.response(200, AuditPageSchema)
def list_audit(args):
    """The audit trail, newest first, filtered by action, actor, document or target user."""
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc())
    for field in ("action", "actor_id", "document_id", "target_user_id"):
        if field in args:
            stmt = stmt.where(getattr(AuditEvent, field) == args[field])
    return paginate(stmt, args["page"], args["per_page"])
