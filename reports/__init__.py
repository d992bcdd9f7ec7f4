"""Reports for the council and participants: context builders (dataclasses), rendering, templates.

Context builders are pure; rendering turns a context into HTML (Jinja2) and PDF (WeasyPrint).
"""
