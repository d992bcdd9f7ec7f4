"""User management (server beheerders only) and the user's own password."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from kleroterion.app.accounts import MIN_PASSWORD, USERNAME, hash_password, verify_password
from kleroterion.errors import KleroError
from kleroterion.store.server import ROLES, User
from kleroterion.web import i18n, usecases
from kleroterion.web.app import render
from kleroterion.web.auth import SESSION_COOKIE, new_totp_secret, totp_uri
from kleroterion.web.permissions import Permission, Viewer, requires, signed_in


def _t(request: Request) -> Any:
    return i18n.translator(i18n.language(request.cookies.get(i18n.COOKIE)))


@requires(Permission.ADMIN)
async def users_page(request: Request, viewer: Viewer) -> Response:
    server = request.app.state.server
    return render(request, "users.html", {"users": server.users(), "roles": server.all_roles()})


@requires(Permission.ADMIN)
async def new_user_page(request: Request, viewer: Viewer) -> Response:
    return render(request, "user_new.html", {"form": {"username": "", "is_admin": False}})


@requires(Permission.ADMIN)
async def new_user(request: Request, viewer: Viewer) -> Response:
    raw = await request.form()
    t = _t(request)
    username = str(raw.get("username", "")).strip()
    form: dict[str, Any] = {"username": username, "is_admin": bool(raw.get("is_admin"))}
    password = str(raw.get("password", ""))
    errors = {}
    if not USERNAME.match(username):
        errors["username"] = t("users.bad_name")
    if len(password) < MIN_PASSWORD:
        errors["password"] = t("users.short_password", n=MIN_PASSWORD)
    if not errors:
        try:
            user = request.app.state.server.add_user(
                form["username"], hash_password(password), is_admin=form["is_admin"]
            )
        except KleroError:
            errors["username"] = t("users.taken")
    if errors:
        return render(request, "user_new.html", {"form": form, "errors": errors}, status=400)
    return RedirectResponse(f"/admin/users/{user.id}", status_code=303)


def _user(request: Request) -> User:
    user = request.app.state.server.user_by_id(request.path_params["user_id"])
    if user is None:
        raise HTTPException(404)
    return user


def _user_page(request: Request, user: User, *, status: int = 200, **extra: Any) -> Response:
    context = {
        "user": user,
        "roles": request.app.state.server.roles_of(user.id),
        "processes": usecases.list_processes(request.app.state.root),
        **extra,
    }
    return render(request, "user.html", context, status=status)


@requires(Permission.ADMIN)
async def user_page(request: Request, viewer: Viewer) -> Response:
    return _user_page(request, _user(request))


@requires(Permission.ADMIN)
async def set_role(request: Request, viewer: Viewer) -> Response:
    """Give a user a role in one process, or take it away (role left empty)."""
    user = _user(request)
    form = await request.form()
    process, role = str(form.get("process", "")), str(form.get("role", ""))
    known = {p.slug for p in usecases.list_processes(request.app.state.root)}
    if process not in known or (role and role not in ROLES):
        return _user_page(request, user, status=400, errors={"process": _t(request)("users.bad_role")})
    request.app.state.server.set_role(user.id, process, role or None)
    return _user_page(request, user, notice=_t(request)("users.role_saved"))


@requires(Permission.ADMIN)
async def reset_password(request: Request, viewer: Viewer) -> Response:
    """A new password for the user; every session of theirs ends."""
    user = _user(request)
    password = str((await request.form()).get("password", ""))
    if len(password) < MIN_PASSWORD:
        errors = {"password": _t(request)("users.short_password", n=MIN_PASSWORD)}
        return _user_page(request, user, status=400, errors=errors)
    request.app.state.server.set_password(user.id, hash_password(password))
    if user.id == viewer.user.id:
        return RedirectResponse("/login", status_code=303)
    return _user_page(request, user, notice=_t(request)("users.password_saved"))


@requires(Permission.ADMIN)
async def set_totp(request: Request, viewer: Viewer) -> Response:
    """Switch two-factor sign-in on (a new secret, shown once) or off."""
    user = _user(request)
    server = request.app.state.server
    if str((await request.form()).get("action", "")) == "on":
        secret = new_totp_secret()
        server.set_totp_secret(user.id, secret)
        user = _user(request)
        return _user_page(request, user, totp_secret=secret, totp_uri=totp_uri(secret, user.username))
    server.set_totp_secret(user.id, None)
    return _user_page(request, _user(request), notice=_t(request)("users.totp_off"))


@signed_in
async def password_page(request: Request, viewer: Viewer) -> Response:
    return render(request, "account_password.html")


@signed_in
async def change_password(request: Request, viewer: Viewer) -> Response:
    """The user's own new password; every session of theirs ends, this one too (sign in again)."""
    form = await request.form()
    t = _t(request)
    server = request.app.state.server
    errors = {}
    if not verify_password(server.password_hash(viewer.user.id), str(form.get("current", ""))):
        errors["current"] = t("account.bad_current")
    password = str(form.get("password", ""))
    if len(password) < MIN_PASSWORD:
        errors["password"] = t("users.short_password", n=MIN_PASSWORD)
    if errors:
        return render(request, "account_password.html", {"errors": errors}, status=400)
    server.set_password(viewer.user.id, hash_password(password))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
