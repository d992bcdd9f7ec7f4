"""Every route of the staff web app, in one table (the permission of each is on its handler)."""

from __future__ import annotations

from importlib import resources

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from kleroterion.web import admin, deliberation, outcomes, pages, registry

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
    # deliberation and report pages (webchain2)
    Route("/p/{process}/poll", deliberation.poll_page, methods=["GET"]),
    Route("/p/{process}/poll", deliberation.poll_define, methods=["POST"]),
    Route("/p/{process}/poll/control", deliberation.poll_control, methods=["POST"]),
    Route("/p/{process}/survey", deliberation.survey_page, methods=["GET"]),
    Route("/p/{process}/survey", deliberation.survey_import, methods=["POST"]),
    Route("/p/{process}/packets", deliberation.packets_page, methods=["GET"]),
    Route("/p/{process}/packets", deliberation.packet_import, methods=["POST"]),
    Route("/p/{process}/packets/signoff", deliberation.packet_signoff, methods=["POST"]),
    Route("/p/{process}/packets/receipts", deliberation.packet_receipts, methods=["POST"]),
    Route("/p/{process}/groups", deliberation.groups_page, methods=["GET"]),
    Route("/p/{process}/groups", deliberation.groups_assign, methods=["POST"]),
    Route("/p/{process}/groups/export", deliberation.groups_export, methods=["POST"]),
    Route("/p/{process}/analysis", outcomes.analysis_page, methods=["GET"]),
    Route("/p/{process}/analysis", outcomes.analysis_run, methods=["POST"]),
    Route("/p/{process}/reports", outcomes.reports_page, methods=["GET"]),
    Route("/p/{process}/reports", outcomes.reports_render, methods=["POST"]),
    Route("/p/{process}/reports/files/{name}", outcomes.report_file, methods=["GET"]),
    Route("/p/{process}/recommendations", outcomes.recommendations_page, methods=["GET"]),
    Route("/p/{process}/recommendations", outcomes.recommendation_add, methods=["POST"]),
    Route("/p/{process}/recommendations/{rec:int}/response", outcomes.response_record, methods=["POST"]),
    Route("/p/{process}/audit/verify", outcomes.audit_verify, methods=["POST"]),
    Route("/p/{process}/purge", outcomes.purge_page, methods=["GET"]),
    Route("/p/{process}/purge", outcomes.purge_run, methods=["POST"]),
    Route("/admin/users", admin.users_page, methods=["GET"]),
    Route("/admin/users/new", admin.new_user_page, methods=["GET"]),
    Route("/admin/users/new", admin.new_user, methods=["POST"]),
    Route("/admin/users/{user_id:int}", admin.user_page, methods=["GET"]),
    Route("/admin/users/{user_id:int}/role", admin.set_role, methods=["POST"]),
    Route("/admin/users/{user_id:int}/password", admin.reset_password, methods=["POST"]),
    Route("/admin/users/{user_id:int}/totp", admin.set_totp, methods=["POST"]),
    Route("/account/password", admin.password_page, methods=["GET"]),
    Route("/account/password", admin.change_password, methods=["POST"]),
    Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
]
