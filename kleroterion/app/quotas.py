"""``klero quotas``: derive quotas proportional to the population, or import an edited quota file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from kleroterion.app.registry import registry_shares
from kleroterion.errors import InfeasibleQuotaError, InputError, Problem, ProblemCollector
from kleroterion.exports import neutralise_frame
from kleroterion.io import read_table, sha256_file
from kleroterion.pool_files import quotas_from_frame, read_shares
from kleroterion.workspace import Workspace
from sortition.progress import Cancel, Progress, Tracker
from sortition.quotas import check_panel_size, check_pool_against_quotas, check_quota_bounds, derive_quotas

DERIVE_STAGE = "quotas derive"
#: Columns of an editable quota file, in order.
QUOTA_FILE_COLUMNS = ("category", "feature", "min", "max", "population_share", "target")


@dataclass(frozen=True)
class QuotaSet:
    """A stored quota set: its id, the table (``category, feature, min, max, population_share, target``),
    the categories with quotas and those left without (no population shares from any source)."""

    quota_set_id: int
    quotas: pd.DataFrame
    categories: tuple[str, ...] = ()
    without_shares: tuple[str, ...] = ()

    @property
    def rows(self) -> int:
        """Rows of the quota table."""
        return len(self.quotas)


def derive_workspace_quotas(
    ws: Workspace,
    *,
    size: int,
    tolerance: float = 1.0,
    extra: list[Path] | None = None,
    min_age: int = 16,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> QuotaSet:
    """Quotas for every sign-up category of the process plus wijk, proportional to the population.

    Shares come from the registry (wijk, and gender and age band when their ``source`` is registry), from
    ``population_shares`` in ``process.toml``, and from ``extra`` ``category,feature,share`` files (which
    take precedence). A category with no shares from any of these gets no quotas; it is named in
    ``without_shares`` so the caller can say so.
    """
    tracker = Tracker(progress, cancel)
    categories = ws.signup_categories
    tracker.step(DERIVE_STAGE, 0, 2, "population shares")
    with ws.store.transaction():
        shares, sources = _population_shares(ws, extra=extra, min_age=min_age)
        _check_size_against_pool(ws, size)
        quotas = derive_quotas(shares, size=size, tolerance=tolerance)
        tracker.step(DERIVE_STAGE, 1, 2, f"{len(quotas)} quota rows")
        set_id = ws.store.save_quotas(quotas, panel_size=size, source="+".join(sources), tolerance=tolerance)
        tracker.step(DERIVE_STAGE, 2, 2, f"quota set {set_id} stored")  # cancelled here: rolled back
    return QuotaSet(
        quota_set_id=set_id,
        quotas=quotas,
        categories=tuple(sorted(shares)),
        without_shares=tuple(c.name for c in categories if c.name not in shares),
    )


def _population_shares(
    ws: Workspace, *, extra: list[Path] | None, min_age: int
) -> tuple[dict[str, dict[str, float]], list[str]]:
    """Each quota category's population shares (registry, process.toml, ``extra`` files) and their sources."""
    categories = ws.signup_categories
    registry = registry_shares(ws, min_age=min_age)
    registry["gender"] = {k: v for k, v in registry["gender"].items() if v > 0}
    from_files: dict[str, dict[str, float]] = {}
    for path in extra or []:
        from_files.update(read_shares(path, categories))
        if "wijk" in from_files:
            _check_wijk_shares(from_files["wijk"], known=registry["wijk"], source=path.name)
    first = [c for c in categories if c.source == "registry"]
    order = [*(c.name for c in first), "wijk", *(c.name for c in categories if c not in first)]
    declared = {c.name: c for c in categories}
    shares: dict[str, dict[str, float]] = {}
    for name in order:
        if name in from_files:
            shares[name] = from_files[name]
        elif name == "wijk" or declared[name].source == "registry":
            shares[name] = registry[name]
        elif declared[name].population_shares:
            shares[name] = dict(declared[name].population_shares)
    sources = ["registry"]
    if any(c.source == "settings" and c.name not in from_files for c in categories):
        sources.append("process.toml")
    sources.extend(path.name for path in extra or [])
    return shares, sources


def propose_quotas(ws: Workspace, *, size: int, tolerance: float = 1.0, min_age: int = 16) -> pd.DataFrame:
    """The quotas ``derive_workspace_quotas`` would store for ``size``, without storing them (the quota
    editor's starting point): ``category, feature, min, max, population_share, target``."""
    shares, _ = _population_shares(ws, extra=None, min_age=min_age)
    return derive_quotas(shares, size=size, tolerance=tolerance)


@dataclass(frozen=True)
class Diagnosis:
    """What the checks before a panel draw say of a quota table: the conflicts (empty: nothing found)
    and a relaxation per conflicting quota or category. The full check (one panel meeting every quota
    at once) is the selection engine's."""

    conflicts: tuple[str, ...]
    relaxation: dict[str, str]
    pool_size: int

    @property
    def feasible(self) -> bool:
        return not self.conflicts


def diagnose_quotas(ws: Workspace, quotas: pd.DataFrame, *, size: int) -> Diagnosis:
    """Check ``quotas`` for a panel of ``size`` as ``klero panel select`` does before it draws
    (``check_quota_bounds``, ``check_panel_size`` and ``check_pool_against_quotas`` on the current pool)."""
    pool = ws.store.pool()
    try:
        check_quota_bounds(quotas, size)
        if not pool.empty:
            check_pool_against_quotas(pool, quotas, size)
    except InfeasibleQuotaError as exc:
        return Diagnosis(tuple(exc.conflicts), {str(k): str(v) for k, v in exc.relaxation.items()}, len(pool))
    return Diagnosis((), {}, len(pool))


def save_quota_table(ws: Workspace, table: pd.DataFrame, *, size: int, source: str = "quota editor") -> QuotaSet:
    """Store an edited ``category, feature, min, max`` table (strings, as typed; index = table row
    numbers) as the quotas, after the checks ``klero quotas import`` makes: every bad cell named by its
    row and column, the bounds against the panel size and the pool. One transaction with its audit record."""
    if size < 1:
        raise InputError(
            source, [Problem("the panel size must be a whole number of at least 1", column="size", value=size)]
        )
    quotas = quotas_from_frame(table, source=source)
    for col in ("population_share", "target"):
        quotas[col] = table[col].to_list() if col in table.columns else None
    check_quota_bounds(quotas, size)
    _check_size_against_pool(ws, size)
    with ws.store.transaction():
        set_id = ws.store.save_quotas(quotas, panel_size=size, source=source, tolerance=0.0)
        ws.store.audit("quotas.edit", parameters={"size": size, "rows": len(quotas)})
    return QuotaSet(quota_set_id=set_id, quotas=quotas, categories=tuple(dict.fromkeys(quotas["category"].astype(str))))


def import_quotas(ws: Workspace, path: Path, *, size: int) -> QuotaSet:
    """Store a ``category,feature,min,max`` file (optionally with population_share, target) as the quotas;
    the quota set and its audit record commit together."""
    frame = read_table(path)
    quotas = _canonical_categories(quotas_from_frame(frame, source=path.name), ws)
    problems = []
    for col in ("population_share", "target"):
        values: list[float | None] = []
        for row, text in (frame[col] if col in frame.columns else pd.Series(dtype=str)).items():
            try:
                values.append(float(str(text).replace(",", ".")) if str(text).strip() else None)
            except ValueError:
                problems.append(Problem("not a number", row=int(row), column=col, value=text))
                values.append(None)
        quotas[col] = values if col in frame.columns else None
    if problems:
        raise InputError(path.name, problems, hint="write shares and targets as decimals, or leave them empty")
    check_quota_bounds(quotas, size)
    _check_size_against_pool(ws, size)
    with ws.store.transaction():
        set_id = ws.store.save_quotas(quotas, panel_size=size, source=f"file:{path.name}", tolerance=0.0)
        ws.store.audit(
            "quotas.import", parameters={"file": path.name, "size": size}, input_hashes={path.name: sha256_file(path)}
        )
    return QuotaSet(quota_set_id=set_id, quotas=quotas, categories=tuple(dict.fromkeys(quotas["category"].astype(str))))


def _canonical_categories(quotas: pd.DataFrame, ws: Workspace) -> pd.DataFrame:
    """The quota file's categories and values as the workspace stores them: a category matched to a sign-up
    category by name, label or alias (the Sortition Foundation's ``Gender`` is our ``gender``) whose every
    value is one of that category's values (by value, label or alias) is written with the canonical names.
    Anything else stays as written (a poll's own variable, e.g. ``age`` with bands of its own; the draw
    names a category the pool does not have)."""
    from sortition.signup import normalise

    categories = {normalise(h): c for c in ws.signup_categories for h in c.headers()}
    out = quotas.copy()
    for name, rows in out.groupby("category", sort=False):
        category = categories.get(normalise(name))
        if category is None:
            continue
        values = [category.canonical(v) for v in rows["feature"]]
        if any(v is None for v in values):
            continue
        out.loc[rows.index, "category"] = category.name
        out.loc[rows.index, "feature"] = values
    return out


def write_quotas(quotas: pd.DataFrame, path: Path) -> None:
    """Write an editable quota file: category,feature,min,max then population_share,target."""
    neutralise_frame(quotas.reindex(columns=list(QUOTA_FILE_COLUMNS))).to_csv(path, index=False, float_format="%.6g")


def _check_size_against_pool(ws: Workspace, size: int) -> None:
    """Quotas for a panel larger than the pool are refused before they are stored (an empty pool: quotas
    may come first; the draw checks the size again)."""
    pool_size = len(ws.store.pool())
    check_panel_size(size, max(pool_size, size) if pool_size == 0 else pool_size)


def _check_wijk_shares(shares: dict[str, float], *, known: dict[str, float], source: str) -> None:
    """Wijk shares of a file name exactly the registry's wijken: an unknown one would be a quota no
    resident can fill, a missing one a wijk with no seat."""
    problems = ProblemCollector(source)
    for wijk in sorted(set(shares) - set(known)):
        problems.add(
            f"not a wijk of the registry extract; use one of {', '.join(sorted(known))}", column="feature", value=wijk
        )
    for wijk in sorted(set(known) - set(shares)):
        problems.add(f"no share for the wijk {wijk} of the registry extract (write 0 if it has none)", column="feature")
    problems.raise_if_any("list every wijk of the registry extract once, shares as decimals summing to 1")
