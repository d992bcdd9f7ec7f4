"""The age bands every process reports on (CBS-style, from 16): a constant with no heavy imports, so that
the sign-up categories (``sortition.signup``) can be read without pandas (``klero status`` stays fast)."""

from __future__ import annotations

AGE_BANDS: tuple[tuple[str, int, int], ...] = (
    ("16-24", 16, 24),
    ("25-39", 25, 39),
    ("40-54", 40, 54),
    ("55-69", 55, 69),
    ("70+", 70, 200),
)
