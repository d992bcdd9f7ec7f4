"""The library versions a draw records (so anyone can replay it with the same software)."""

from __future__ import annotations


def versions() -> dict[str, str]:
    """Versions of the libraries a draw depends on (recorded with every draw)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("kleroterion", "sortition-algorithms", "highspy", "numpy", "pandas", "scipy"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out
