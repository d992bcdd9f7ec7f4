"""The staff web app (``klero serve``): Starlette + Jinja2 + htmx, every asset shipped in the package.

Handlers parse a request, check the role (``permissions``), call a use case (``usecases``) and render a
template; long work runs as a job (``jobs``). Nothing here holds domain rules or SQL.
"""
