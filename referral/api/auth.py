"""Token issue and revocation; who am I."""

from __future__ import annotations

from datetime import timedelta

from flask import jsonify, request
from pydantic import Field

from ..runtime import db_session, runtime
from ..services import auth as auth_service
from ..services.inputs import Strict, parse
from ..services.users import MAX_PASSWORD
from . import bearer_token, current_user, endpoint, json_body
from .serializers import ts, user_json


class TokenIn(Strict):
    verbatim_fields = frozenset({"password"})

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD)


@endpoint("/auth/token", "POST", "Exchange username and password for a bearer token", tag="auth", auth=False,
          body=TokenIn, description="Repeated failures for one username from one address answer 429.")
def create_token():
    data = parse(TokenIn, json_body())
    rt = runtime()
    user = auth_service.check_credentials(db_session(), rt.login_limiter, data.username, data.password,
                                          request.remote_addr or "")
    token, row = auth_service.issue_token(db_session(), user, timedelta(hours=rt.settings.token_ttl_hours))
    return jsonify(token=token, expires_at=ts(row.expires_at), user=user_json(user)), 201


@endpoint("/auth/token", "DELETE", "Revoke the bearer token sent with this request", tag="auth")
def delete_token():
    auth_service.revoke_token(db_session(), bearer_token())
    return jsonify(revoked=True)


@endpoint("/me", "GET", "The caller, roles and facility", tag="auth")
def me():
    return jsonify(user_json(current_user()))
