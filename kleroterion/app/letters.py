"""``klero letters``: draw the invitation letters (stage 1), plan a top-up wave, export the mail merge."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from kleroterion.app.fairness import topup_strata
from kleroterion.app.registry import eligible_mask, require_registry, strata
from kleroterion.errors import InputError, KleroError, Problem
from kleroterion.exports import DEFAULT_ENCODING, ExportResult, export_format, record_export, write_table
from kleroterion.lists import export_list, letter_list
from kleroterion.seeds import generator
from kleroterion.store.residents import CATEGORIES
from kleroterion.workspace import Workspace
from sortition.letters import draw_letter_rows, make_codes
from sortition.progress import Cancel, Progress, Tracker
from sortition.topup import plan_topup

DRAW_STAGE = "letters draw"


@dataclass(frozen=True)
class Oversample:
    """Factors multiplying some strata's share of the letters (``wijk=WK01:2``): one column at a time."""

    column: str
    factors: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class LetterDraw:
    """One stored letter draw: its id, the letters and addresses drawn, who was eligible, the seed."""

    draw_id: int
    letters: int
    eligible: int
    restricted_excluded: int
    addresses: int
    seed: int


@dataclass(frozen=True)
class TopupPlan:
    """A second wave's letters per stratum of the first wave (``sortition.topup.plan_topup``'s table:
    ``stratum, extra_letters, rate, share_now, expected_share, population_share``)."""

    stratify_by: str
    count: int
    table: pd.DataFrame

    @property
    def allocation(self) -> dict[str, int]:
        """Letters per stratum that gets any."""
        return {str(r.stratum): int(r.extra_letters) for r in self.table.itertuples(index=False) if r.extra_letters}


@dataclass(frozen=True)
class TopupDraw:
    """A top-up wave: the plan, and the draw (None when only planned)."""

    plan: TopupPlan
    draw: LetterDraw | None


def parse_oversample(specs: list[str]) -> Oversample | None:
    """Parse ``COLUMN=VALUE:FACTOR`` options; all must share one column (None: no option given)."""
    problems = []
    columns: set[str] = set()
    factors: dict[str, float] = {}
    for spec in specs:
        column, _, rest = spec.partition("=")
        value, _, factor_text = rest.rpartition(":")
        try:
            factor = float(factor_text)
        except ValueError:
            factor = -1.0
        if not column.strip() or not value.strip() or factor <= 0:
            problems.append(
                Problem("write COLUMN=VALUE:FACTOR with a factor above 0", column="--oversample", value=spec)
            )
            continue
        columns.add(column.strip())
        factors[value.strip()] = factor
    if len(columns) > 1:
        problems.append(
            Problem("oversample one column at a time", column="--oversample", value=", ".join(sorted(columns)))
        )
    if problems:
        raise InputError("the command line", problems, hint="for example --oversample wijk=WK01:2")
    return Oversample(columns.pop(), factors) if columns else None


def draw_letters(
    ws: Workspace,
    *,
    count: int,
    seed: int | None = None,
    stratify_by: str | None = None,
    min_age: int = 16,
    oversample: Oversample | None = None,
    code_seed: int | None = None,
    allocation: dict[str, int] | None = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> LetterDraw:
    """Draw letters (stage 1), one per address, never to an address drawn before; one transaction.

    Invitation codes come from ``secrets`` so nobody can guess one; ``code_seed`` fixes them (tests);
    in a workspace of a shipped example both seeds are the example's. ``oversample`` stratifies over
    its column (``stratify_by`` may name the same column or none). ``allocation`` gives the letters per
    stratum (a top-up planned from the sign-up model)."""
    tracker = Tracker(progress, cancel)
    require_registry(ws)
    if oversample is not None:
        if stratify_by not in (None, oversample.column):
            raise KleroError(
                f"--oversample uses the column {oversample.column!r} but --stratify-by is {stratify_by!r}; "
                "use one column.",
                code="bad_oversample",
            )
        stratify_by = oversample.column
    if stratify_by is not None and stratify_by not in CATEGORIES:
        raise KleroError(
            f"Cannot allocate letters over {stratify_by!r}: use one of {', '.join(CATEGORIES)}.",
            code="bad_stratum_column",
            column=stratify_by,
        )
    seed = ws.draw_seed("letters") if seed is None else seed
    tracker.step(DRAW_STAGE, 0, 2, "reading the residents")
    with ws.store.transaction():
        columns = ws.store.resident_columns()
        mask, excluded = eligible_mask(ws, columns, min_age=min_age)
        stratum, labels = strata(columns, stratify_by)
        earlier = ws.store.letter_addresses()
        factors = oversample.factors if oversample is not None else {}
        picks = draw_letter_rows(
            columns.address,
            stratum,
            labels,
            eligible=mask,
            n_addresses=len(columns.address_keys),
            excluded=columns.address_mask(earlier["address_key"]),
            count=count,
            rng=generator(seed),
            oversample=factors or None,
            allocation=allocation,
        )
        eligible = int(mask.sum())
        letters = pd.DataFrame(
            {
                "resident_id": columns.pseudonyms_of(picks.rows),
                "address_key": columns.keys_of(picks.addresses),
                "stratum": picks.strata,
                "inclusion_probability": picks.inclusion_probability,
            }
        )
        letters["code"] = make_codes(
            len(letters),
            generator(ws.draw_seed("codes") if code_seed is None else code_seed),
            taken=frozenset(earlier["code"]),
        )
        tracker.step(DRAW_STAGE, 1, 2, f"{len(letters):,} letters drawn")
        params = {
            "count": count,
            "stratify_by": stratify_by,
            "min_age": min_age,
            "oversample": factors,
            **({"allocation": allocation} if allocation is not None else {}),
            "one_per_address": True,
            "eligible": eligible,
            "restricted_excluded": excluded,
        }
        draw_id = ws.store.save_letters(letters, seed=str(seed), parameters=params)
        tracker.step(DRAW_STAGE, 2, 2, f"{len(letters):,} letters stored")  # cancelled here: rolled back
    return LetterDraw(
        draw_id=draw_id,
        letters=len(letters),
        eligible=eligible,
        restricted_excluded=excluded,
        addresses=int(letters["address_key"].nunique()),
        seed=seed,
    )


def plan_letter_topup(ws: Workspace, *, count: int, min_age: int = 16) -> TopupPlan:
    """Spread ``count`` second-wave letters over the first wave's strata so that the expected pool comes
    closest to the population (``sortition.topup.plan_topup`` on the workspace's sign-up model)."""
    stratify_by, table = topup_strata(ws, min_age=min_age)
    return TopupPlan(stratify_by=stratify_by, count=count, table=plan_topup(table, count=count))


def draw_letter_topup(
    ws: Workspace,
    *,
    count: int,
    seed: int | None = None,
    min_age: int = 16,
    plan_only: bool = False,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> TopupDraw:
    """Plan a top-up wave and (unless ``plan_only``) draw it; plan and draw read one state of the store."""
    with ws.store.transaction():
        plan = plan_letter_topup(ws, count=count, min_age=min_age)
        if plan_only:
            return TopupDraw(plan=plan, draw=None)
        draw = draw_letters(
            ws,
            count=count,
            seed=seed,
            stratify_by=plan.stratify_by,
            min_age=min_age,
            allocation=plan.allocation,
            progress=progress,
            cancel=cancel,
        )
    return TopupDraw(plan=plan, draw=draw)


def export_letters(
    ws: Workspace, path: Path, *, encoding: str = DEFAULT_ENCODING, signup_url: str | None = None
) -> ExportResult:
    """Write the mail-merge list (code, name, address with huisletter and toevoeging) as CSV or XLSX;
    audited without personal data.

    With ``signup_url`` (the address of the public sign-up page, ``https://.../aanmelden/PROCESS``) each
    letter also gets ``link``, the page's address with its code in the fragment (``#code=...``: a browser
    never sends the fragment, so the code is in no server log), and ``qr``, the path of an SVG QR code of
    that link in the folder ``<file name>-qr/`` beside the list (one file per code, for the mail merge)."""
    if signup_url is None:
        return export_list(ws, "letters", path, encoding=encoding)
    url = signup_link_base(signup_url)
    export_format(path, encoding=encoding)
    table = letter_list(ws)
    table["link"] = [f"{url}#code={code}" for code in table["code"]]
    folder = path.parent / f"{path.stem}-qr"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        files = []
        for code, link in zip(table["code"], table["link"], strict=True):
            target = folder / f"{code}.svg"
            target.write_bytes(qr_svg(link))
            files.append(str(target.resolve()))
    except OSError as exc:
        raise KleroError(
            f"Cannot write the QR codes to {folder}: {exc}; choose another folder.", code="bad_path", path=str(folder)
        ) from exc
    table["qr"] = files
    result = write_table(table, path, encoding=encoding)
    record_export(ws.store, "letters", result)
    return result


def signup_link_base(url: str) -> str:
    """The sign-up page's address as given (``http(s)://host/aanmelden/PROCESS``), checked: no query or fragment."""
    clean = url.strip().rstrip("/")
    if not re.match(r"^https?://[^\s?#]+$", clean):
        raise KleroError(
            f"--signup-url {url!r} is not a web address: give the sign-up page's address, like "
            "https://aanmelden.example.nl/aanmelden/burgerberaad (no ? or #).",
            code="bad_signup_url",
        )
    return clean


def qr_svg(text: str) -> bytes:
    """A QR code of ``text`` as SVG (error correction M, a quiet zone of 4 modules)."""
    import io

    import qrcode
    from qrcode.image.svg import SvgPathImage

    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4, image_factory=SvgPathImage)
    code.add_data(text)
    code.make(fit=True)
    out = io.BytesIO()
    code.make_image().save(out)
    return out.getvalue()
