"""Every route of the staff web app, in one table (the permission of each is on its handler)."""

from __future__ import annotations

from importlib import resources

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from kleroterion.web import admin, chain, chain_panel, pages, public, registry, signup_admin

STATIC = str(resources.files("kleroterion.web") / "static")

ROUTES: list[BaseRoute] = [
    Route("/login", pages.login_page, methods=["GET"]),
    Route("/login", pages.login, methods=["POST"]),
    Route("/login/totp", pages.totp_page, methods=["GET"]),
    Route("/login/totp", pages.totp, methods=["POST"]),
    Route("/logout", pages.logout, methods=["POST"]),
    Route("/lang/{lang}", pages.switch_language, methods=["GET"]),
    Route("/", pages.process_list, methods=["GET"]),
    Route("/processes/new", pages.new_process_page, methods=["GET"]),
    Route("/processes/new", pages.new_process, methods=["POST"]),
    Route("/p/{process}", pages.process_overview, methods=["GET"]),
    Route("/p/{process}/audit", pages.audit_page, methods=["GET"]),
    Route("/p/{process}/registry", registry.upload_page, methods=["GET"]),
    Route("/p/{process}/registry", registry.upload, methods=["POST"]),
    Route("/p/{process}/jobs/{job_id}", registry.job_page, methods=["GET"]),
    Route("/p/{process}/jobs/{job_id}/status", registry.job_status, methods=["GET"]),
    Route("/p/{process}/jobs/{job_id}/cancel", registry.cancel_job, methods=["POST"]),
    # sortition chain pages (webchain1)
    Route("/p/{process}/letters", chain.letters_page, methods=["GET"]),
    Route("/p/{process}/letters", chain.draw_letters, methods=["POST"]),
    Route("/p/{process}/pool", chain.pool_page, methods=["GET"]),
    Route("/p/{process}/pool/import", chain.pool_import_page, methods=["GET"]),
    Route("/p/{process}/pool/import", chain.pool_import, methods=["POST"]),
    Route("/p/{process}/pool/people/{person}", chain.person_page, methods=["GET"]),
    Route("/p/{process}/pool/people/{person}", chain.set_contact, methods=["POST"]),
    Route("/p/{process}/quotas", chain_panel.quotas_page, methods=["GET"]),
    Route("/p/{process}/quotas", chain_panel.save_quotas, methods=["POST"]),
    Route("/p/{process}/quotas/check", chain_panel.quotas_check, methods=["POST"]),
    Route("/p/{process}/panel", chain_panel.panel_page, methods=["GET"]),
    Route("/p/{process}/panel/select", chain_panel.select_page, methods=["GET"]),
    Route("/p/{process}/panel/select", chain_panel.select, methods=["POST"]),
    Route("/p/{process}/panel/verify", chain_panel.verify_page, methods=["GET"]),
    Route("/p/{process}/panel/replace", chain_panel.replace_page, methods=["GET"]),
    Route("/p/{process}/panel/replace", chain_panel.replace, methods=["POST"]),
    Route("/p/{process}/lottery", chain_panel.lottery_page, methods=["GET"]),
    Route("/p/{process}/lottery", chain_panel.draw_lottery, methods=["POST"]),
    Route("/p/{process}/lottery/tickets", chain_panel.lottery_tickets, methods=["GET"]),
    Route("/p/{process}/exports", chain.exports_page, methods=["GET"]),
    Route("/p/{process}/exports/{kind}.{fmt}", chain.export_download, methods=["GET"]),
    Route("/admin/users", admin.users_page, methods=["GET"]),
    Route("/admin/users/new", admin.new_user_page, methods=["GET"]),
    Route("/admin/users/new", admin.new_user, methods=["POST"]),
    Route("/admin/users/{user_id:int}", admin.user_page, methods=["GET"]),
    Route("/admin/users/{user_id:int}/role", admin.set_role, methods=["POST"]),
    Route("/admin/users/{user_id:int}/password", admin.reset_password, methods=["POST"]),
    Route("/admin/users/{user_id:int}/totp", admin.set_totp, methods=["POST"]),
    Route("/account/password", admin.password_page, methods=["GET"]),
    Route("/account/password", admin.change_password, methods=["POST"]),
    # public sign-up (signup): the invitee's pages, no login (kleroterion.web.public); the staff side
    Route("/aanmelden/{process}", public.start_page, methods=["GET"]),
    Route("/aanmelden/{process}", public.enter_code, methods=["POST"]),
    Route("/aanmelden/{process}/formulier", public.submit, methods=["POST"]),
    Route("/aanmelden/{process}/wijzigen", public.change_page, methods=["GET"]),
    Route("/aanmelden/{process}/wijzigen", public.find_own, methods=["POST"]),
    Route("/aanmelden/{process}/afmelden", public.withdraw, methods=["POST"]),
    Route("/p/{process}/signup", signup_admin.signup_page, methods=["GET"]),
    Route("/p/{process}/signup", signup_admin.save_settings, methods=["POST"]),
    Route("/p/{process}/signup/counts", signup_admin.signup_counts, methods=["GET"]),
    Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
]
