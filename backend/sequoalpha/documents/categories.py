"""Every category route: the list any signed-in user reads (GET /api/categories), and the
admin's list, create, rename and delete under /api/admin/categories."""

from flask_jwt_extended import current_user, jwt_required
from flask_smorest import Blueprint
from sqlalchemy import select

from .. import audit
from ..accounts.guard import admin_required
from ..admin import blp as admin_blp
from ..extensions import db
from ..integrity import commit_or_conflict, unique
from ..models import Category, Document
from ..schemas.documents import CategoryQuerySchema, CategorySchema
from .visibility import visible_to

blp = Blueprint("categories", __name__, url_prefix="/api", description="Categories")

NAME_TAKEN = "A category with this name already exists."


def all_categories() -> list[Category]:
    return db.session.scalars(select(Category).order_by(Category.name)).all()


@blp.get("/categories")
@jwt_required()
@blp.arguments(CategoryQuerySchema, location="query")
@blp.response(200, CategorySchema(many=True))
def public_categories(args):
    """Every category, by name (any signed-in user); with `in_use=true`, only those having a
    document I can see."""
    if not args["in_use"]:
        return all_categories()
    used = select(Document.category_id).where(visible_to(current_user), Document.category_id.is_not(None))
    return db.session.scalars(select(Category).where(Category.id.in_(used)).order_by(Category.name)).all()


@admin_blp.get("/categories")
@admin_required
@admin_blp.response(200, CategorySchema(many=True))
def list_categories():
    """Every category, by name."""
    return all_categories()


@admin_blp.post("/categories")
@admin_required
@admin_blp.arguments(CategorySchema)
@admin_blp.response(201, CategorySchema)
@admin_blp.alt_response(409, description="Name already taken")
def create_category(data):
    """Create a category."""
    unique(Category.name, data["name"], None, NAME_TAKEN)
    category = Category(name=data["name"])
    db.session.add(category)
    db.session.flush()
    _record("category_created", category)
    commit_or_conflict(NAME_TAKEN)
    return category


@admin_blp.patch("/categories/<int:category_id>")
@admin_required
@admin_blp.arguments(CategorySchema)
@admin_blp.response(200, CategorySchema)
@admin_blp.alt_response(409, description="Name already taken")
def update_category(data, category_id):
    """Rename a category."""
    category = db.get_or_404(Category, category_id)
    unique(Category.name, data["name"], category.id, NAME_TAKEN)
    category.name = data["name"]
    _record("category_updated", category)
    commit_or_conflict(NAME_TAKEN)
    return category


@admin_blp.delete("/categories/<int:category_id>")
@admin_required
@admin_blp.response(204)
def delete_category(category_id):
    """Delete a category; its documents become uncategorised."""
    category = db.get_or_404(Category, category_id)
    _record("category_deleted", category)
    db.session.delete(category)
    db.session.commit()


def _record(action: str, category: Category) -> None:
    audit.record(action, current_user, detail={"category_id": category.id, "name": category.name})
