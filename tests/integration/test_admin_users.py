"""Admin users API against PostgreSQL: create, list (paginated), read, update, soft delete."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import func, select

from models import AuditEvent, User

USERS = "/api/v1/admin/users"


def _create(client, **values):
    body = {"email": "maria.lopez@example.com", "username": "mlopez", "full_name": "Maria Lopez", **values}
    return client.post(USERS, json=body)


def _user_count(session_factory) -> int:
    """Users other than the tests' signed-in admin."""
    with session_factory() as session:
        return session.scalar(select(func.count()).select_from(User).where(User.email.not_like("test-admin-%")))


def _admin_events(session_factory) -> list[dict]:
    with session_factory() as session:
        return [e.event_data for e in session.scalars(select(AuditEvent).where(AuditEvent.event_type == "admin").order_by(AuditEvent.id))]


def _assert_error(response, status, code):
    assert response.status_code == status, response.get_json()
    body = response.get_json()
    assert body["status"] == status and body["code"] == code
    assert body["message"] and body["request_id"] == response.headers["X-Request-ID"]
    return body


# --- create -----------------------------------------------------------------------------------


def test_create_user_stores_it_lowercases_the_email_and_audits(client, session_factory):
    response = _create(client, email=" Maria.Lopez@Example.COM ", role="operator")
    assert response.status_code == 201
    body = response.get_json()
    assert body["email"] == "maria.lopez@example.com"
    assert body["username"] == "mlopez" and body["role"] == "operator" and body["is_active"] is True
    assert body["deleted_at"] is None and body["created_at"]
    with session_factory() as session:
        stored = session.get(User, uuid.UUID(body["user_id"]))
        assert stored.email == "maria.lopez@example.com" and stored.role == "operator"
    assert _admin_events(session_factory) == [{"action": "user_created", "user_id": body["user_id"], "role": "operator"}]


def test_create_defaults_to_an_active_agent(client):
    body = _create(client, full_name=None).get_json()
    assert body["role"] == "agent" and body["is_active"] is True and body["full_name"] is None


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": "a@"}, "email"),
        ({"email": 42}, "email"),
        ({"role": "superuser"}, "role"),
        ({"username": "x"}, "username"),
        ({"username": "bad name!"}, "username"),
        ({"is_active": "maybe"}, "is_active"),
        ({"password": "secret"}, "password"),
        ({"full_name": "x" * 201}, "full_name"),
    ],
)
def test_create_rejects_bad_input_with_a_422_and_writes_nothing(client, session_factory, values, field):
    body = _assert_error(_create(client, **values), 422, "validation_error")
    assert field in body["details"]["json"]
    assert _user_count(session_factory) == 0
    assert _admin_events(session_factory) == []


def test_create_without_email_or_username_is_a_422(client):
    body = _assert_error(client.post(USERS, json={"full_name": "Nobody"}), 422, "validation_error")
    assert set(body["details"]["json"]) == {"email", "username"}


@pytest.mark.parametrize(
    ("values", "field"),
    [({"email": "MARIA.LOPEZ@example.com", "username": "other"}, "email"), ({"email": "other@example.com"}, "username")],
)
def test_taken_email_or_username_is_a_409_naming_the_field(client, session_factory, values, field):
    assert _create(client).status_code == 201
    body = _assert_error(_create(client, **values), 409, "conflict")
    assert list(body["details"]["json"]) == [field]
    assert _user_count(session_factory) == 1
    assert len(_admin_events(session_factory)) == 1


def test_a_deleted_users_email_stays_taken(client):
    user_id = _create(client).get_json()["user_id"]
    assert client.delete(f"{USERS}/{user_id}").status_code == 204
    _assert_error(_create(client, username="someone"), 409, "conflict")


@pytest.mark.parametrize("field", ["email", "username"])
def test_a_racing_insert_is_still_a_409_from_the_constraint(client, session_factory, mocker, field):
    """Two requests both pass the check; the unique constraint decides, inside a savepoint."""
    assert _create(client).status_code == 201
    mocker.patch("pipeline.users._taken", return_value={})
    other = {"email": "other@example.com"} if field == "username" else {"username": "other"}
    body = _assert_error(_create(client, **other), 409, "conflict")
    assert list(body["details"]["json"]) == [field]
    assert _user_count(session_factory) == 1


# --- read and list ----------------------------------------------------------------------------


def test_get_one_user_and_unknown_or_malformed_ids(client):
    user_id = _create(client).get_json()["user_id"]
    response = client.get(f"{USERS}/{user_id}")
    assert response.status_code == 200 and response.get_json()["username"] == "mlopez"
    _assert_error(client.get(f"{USERS}/{uuid.uuid4()}"), 404, "not_found")
    _assert_error(client.get(f"{USERS}/not-a-uuid"), 422, "validation_error")


def test_list_is_paginated_oldest_first_and_hides_deleted_users(client):
    me = client.get("/api/v1/me").get_json()["user_id"]  # the signed-in admin is the oldest user
    ids = [_create(client, email=f"user{n}@example.com", username=f"user{n}", role="admin" if n == 4 else "agent").get_json()["user_id"] for n in range(5)]
    assert client.delete(f"{USERS}/{ids[1]}").status_code == 204

    first = client.get(f"{USERS}?page=1&page_size=2")
    assert first.status_code == 200
    assert [u["user_id"] for u in first.get_json()] == [me, ids[0]]
    pagination = json.loads(first.headers["X-Pagination"])
    assert pagination["total"] == 5 and pagination["total_pages"] == 3 and pagination["next_page"] == 2

    second = client.get(f"{USERS}?page=2&page_size=2")
    assert [u["user_id"] for u in second.get_json()] == [ids[2], ids[3]]

    everyone = client.get(f"{USERS}?include_deleted=true&page_size=10")
    assert [u["user_id"] for u in everyone.get_json()] == [me, *ids]
    assert json.loads(everyone.headers["X-Pagination"])["total"] == 6
    assert [u["deleted_at"] is not None for u in everyone.get_json()] == [False, False, True, False, False, False]

    admins = client.get(f"{USERS}?role=admin")
    assert [u["user_id"] for u in admins.get_json()] == [me, ids[4]]


@pytest.mark.parametrize("query", ["page=0", "page_size=1000", "role=king", "include_deleted=perhaps", "page=x"])
def test_list_rejects_bad_query_arguments(client, query):
    _assert_error(client.get(f"{USERS}?{query}"), 422, "validation_error")


# --- update -----------------------------------------------------------------------------------


def test_update_changes_given_fields_and_audits_each_change(client, session_factory):
    user_id = _create(client).get_json()["user_id"]
    response = client.put(f"{USERS}/{user_id}", json={"role": "admin", "is_active": False, "full_name": "Maria Lopez"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["role"] == "admin" and body["is_active"] is False and body["email"] == "maria.lopez@example.com"
    with session_factory() as session:
        stored = session.get(User, uuid.UUID(user_id))
        assert stored.role == "admin" and stored.is_active is False
    # full_name was unchanged, so it is not in the audit.
    assert _admin_events(session_factory)[-1] == {
        "action": "user_updated",
        "user_id": user_id,
        "changes": {"role": {"from": "agent", "to": "admin"}, "is_active": {"from": True, "to": False}},
    }


def test_update_to_the_same_values_writes_no_audit(client, session_factory):
    user_id = _create(client).get_json()["user_id"]
    assert client.put(f"{USERS}/{user_id}", json={"role": "agent"}).status_code == 200
    assert [e["action"] for e in _admin_events(session_factory)] == ["user_created"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [({"email": "nope"}, "email"), ({"role": "root"}, "role"), ({}, "_schema"), ({"deleted_at": "2020-01-01"}, "deleted_at"), ({"user_id": str(uuid.uuid4())}, "user_id")],
)
def test_update_rejects_bad_input(client, session_factory, payload, field):
    user_id = _create(client).get_json()["user_id"]
    body = _assert_error(client.put(f"{USERS}/{user_id}", json=payload), 422, "validation_error")
    assert field in body["details"]["json"]
    with session_factory() as session:
        assert session.get(User, uuid.UUID(user_id)).role == "agent"


def test_update_to_another_users_email_is_a_409_and_changes_nothing(client, session_factory):
    _create(client)
    other = _create(client, email="other@example.com", username="other").get_json()["user_id"]
    body = _assert_error(client.put(f"{USERS}/{other}", json={"email": "maria.lopez@example.com", "role": "admin"}), 409, "conflict")
    assert list(body["details"]["json"]) == ["email"]
    with session_factory() as session:
        stored = session.get(User, uuid.UUID(other))
        assert stored.email == "other@example.com" and stored.role == "agent"


def test_a_racing_update_is_still_a_409(client, session_factory, mocker):
    _create(client)
    other = _create(client, email="other@example.com", username="other").get_json()["user_id"]
    mocker.patch("pipeline.users._taken", return_value={})
    body = _assert_error(client.put(f"{USERS}/{other}", json={"username": "mlopez"}), 409, "conflict")
    assert list(body["details"]["json"]) == ["username"]
    with session_factory() as session:
        assert session.get(User, uuid.UUID(other)).username == "other"


def test_update_unknown_or_deleted_user(client):
    _assert_error(client.put(f"{USERS}/{uuid.uuid4()}", json={"role": "admin"}), 404, "not_found")
    user_id = _create(client).get_json()["user_id"]
    client.delete(f"{USERS}/{user_id}")
    _assert_error(client.put(f"{USERS}/{user_id}", json={"role": "admin"}), 409, "conflict")


# --- delete -----------------------------------------------------------------------------------


def test_delete_is_soft_idempotent_and_audited_once(client, session_factory):
    user_id = _create(client).get_json()["user_id"]
    response = client.delete(f"{USERS}/{user_id}")
    assert response.status_code == 204 and response.data == b""
    with session_factory() as session:
        stored = session.get(User, uuid.UUID(user_id))
        assert stored is not None and stored.deleted_at is not None and stored.is_active is False
    shown = client.get(f"{USERS}/{user_id}").get_json()
    assert shown["deleted_at"] is not None and shown["is_active"] is False
    assert [u["user_id"] for u in client.get(USERS).get_json()] == [client.get("/api/v1/me").get_json()["user_id"]]

    assert client.delete(f"{USERS}/{user_id}").status_code == 204
    assert [e["action"] for e in _admin_events(session_factory)] == ["user_created", "user_deleted"]


def test_delete_unknown_or_malformed_id(client):
    _assert_error(client.delete(f"{USERS}/{uuid.uuid4()}"), 404, "not_found")
    _assert_error(client.delete(f"{USERS}/12"), 422, "validation_error")


def test_users_paths_are_in_the_openapi_document(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/admin/users"])
    assert {"get", "put", "delete"} <= set(paths["/api/v1/admin/users/{user_id}"])


def test_an_admin_cannot_lock_themselves_out(client):
    me = client.get("/api/v1/me").get_json()["user_id"]
    for change in ({"is_active": False}, {"role": "agent"}):
        _assert_error(client.put(f"{USERS}/{me}", json=change), 409, "conflict")
    _assert_error(client.delete(f"{USERS}/{me}"), 409, "conflict")
    assert client.put(f"{USERS}/{me}", json={"full_name": "Still Me", "role": "admin"}).status_code == 200
    assert client.get("/api/v1/me").status_code == 200


def test_booleans_are_true_or_false_only(client):
    user_id = _create(client).get_json()["user_id"]
    for value in (0, 1, "yes", "true", None):
        _assert_error(client.put(f"{USERS}/{user_id}", json={"is_active": value}), 422, "validation_error")
    assert client.get(f"{USERS}?include_deleted=1").status_code == 200
