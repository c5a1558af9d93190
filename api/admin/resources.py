"""Admin: manage users (soft delete), read the service's metrics.

Users are for admins only; metrics for operators, auditors and admins.
"""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from api import auth
from api import db as api_db
from api.admin.schemas import (
    MetricsSchema,
    UserCreateSchema,
    UserListArgsSchema,
    UserSchema,
    UserUpdateSchema,
)
from api.auth import roles
from api.common import parse_id
from api.current import settings
from pipeline import users
from pipeline.core.cache import get_cache
from pipeline.core.errors import Conflict
from pipeline.identity.roles import ADMINS, METRICS_READERS
from pipeline.ops import metrics

blp = Blueprint("admin", __name__, description="Users and metrics, for administrators.")

EXAMPLE_USER = {
    "user_id": "7a1e3c52-4b8d-4f0e-9c2a-5d6b7e8f9a01",
    "email": "maria.lopez@example.com",
    "username": "mlopez",
    "full_name": "Maria Lopez",
    "role": "agent",
    "is_active": True,
    "deleted_at": None,
    "last_login_at": None,
    "created_at": "2026-11-28T09:00:00+00:00",
    "updated_at": "2026-11-28T09:00:00+00:00",
}


@blp.route("/users")
class Users(MethodView):
    @roles(*ADMINS)
    @blp.arguments(UserCreateSchema, example={"email": "maria.lopez@example.com", "username": "mlopez", "full_name": "Maria Lopez", "role": "agent"})
    @blp.response(201, UserSchema, example=EXAMPLE_USER)
    @blp.alt_response(409, description="A user (deleted ones included) already has this e-mail or username; `details` names the field.")
    @blp.alt_response(422, description="A malformed e-mail, an unknown role, a bad username or an unknown field.")
    def post(self, body):
        """Create a user

        The e-mail is kept in lower case; the role is `agent` (default), `operator` or `admin`.
        Audited as `admin`.
        """
        user = users.create(session=api_db.session(), **body)
        return users.as_dict(user)

    @roles(*ADMINS)
    @blp.arguments(UserListArgsSchema, location="query")
    @blp.response(200, UserSchema(many=True))
    @blp.paginate(page_size=50, max_page_size=200)
    @blp.alt_response(422, description="A bad page, page_size or role.")
    def get(self, args, pagination_parameters):
        """List users

        Oldest first, paginated (`page`, `page_size`; totals in the `X-Pagination` header).
        Deleted users are left out unless `include_deleted=true`; `role` filters by role.
        """
        page = users.get_all(
            session=api_db.session(),
            offset=pagination_parameters.first_item,
            limit=pagination_parameters.page_size,
            include_deleted=args["include_deleted"],
            role=args.get("role"),
        )
        pagination_parameters.item_count = page.total
        return [users.as_dict(user) for user in page.items]


@blp.route("/users/<user_id>")
class UserById(MethodView):
    @roles(*ADMINS)
    @blp.response(200, UserSchema, example=EXAMPLE_USER)
    @blp.alt_response(404, description="No user has this id.")
    @blp.alt_response(422, description="The id is not a UUID.")
    def get(self, user_id):
        """Read a user

        Deleted users are found too, with `deleted_at` set.
        """
        return users.as_dict(users.get_or_raise(session=api_db.session(), user_id=parse_id(user_id, "user_id")))

    @roles(*ADMINS)
    @blp.arguments(UserUpdateSchema, example={"role": "operator", "is_active": True})
    @blp.response(200, UserSchema, example=EXAMPLE_USER)
    @blp.alt_response(404, description="No user has this id.")
    @blp.alt_response(409, description="The e-mail or username belongs to another user, this user is deleted, or an admin would lock themselves out.")
    @blp.alt_response(422, description="A malformed value, an unknown field, or no field at all.")
    def put(self, body, user_id):
        """Update a user

        Changes the fields given (e-mail, username, full name, role, active) and leaves the others.
        An admin cannot deactivate themselves or give up their own admin role (another admin
        can). Audited as `admin` with each change, from and to.
        """
        session = api_db.session()
        user = users.get_or_raise(session=session, user_id=parse_id(user_id, "user_id"))
        if user.id == auth.current_user_id() and (body.get("is_active") is False or body.get("role", user.role) != user.role):
            raise Conflict("You cannot deactivate yourself or change your own role; ask another admin.")
        return users.as_dict(users.update(session=session, user=user, changes=body))

    @roles(*ADMINS)
    @blp.response(204)
    @blp.alt_response(404, description="No user has this id.")
    @blp.alt_response(409, description="An admin tried to delete themselves.")
    @blp.alt_response(422, description="The id is not a UUID.")
    def delete(self, user_id):
        """Delete a user (soft)

        The row stays, marked deleted and inactive, because corrections, approvals and audit
        events name it. Deleting a deleted user again changes nothing; nobody deletes themselves.
        Audited as `admin`.
        """
        session = api_db.session()
        user = users.get_or_raise(session=session, user_id=parse_id(user_id, "user_id"))
        if user.id == auth.current_user_id():
            raise Conflict("You cannot delete yourself; ask another admin.")
        users.delete(session=session, user=user)


@blp.route("/metrics")
class Metrics(MethodView):
    @roles(*METRICS_READERS)
    @blp.response(200, MetricsSchema)
    def get(self):
        """Read the service's metrics

        Contracts; extractions by status; average and p95 extraction time (succeeded extraction
        jobs of the last 7 days, claim to result); cache hit rate; corrections per field (the
        extractor's accuracy as reviewers see it); jobs by status; the depth of the
        `interactive` and `bulk` queues; extractions created and approved per day (7 days) and
        per week (4 weeks). The same figures are served to Prometheus at `/metrics`.
        """
        s = settings()
        return metrics.collect(session=api_db.session(), cache=get_cache(s), settings=s)
