"""The bad-input corpus: over a hundred broken files, across every reader, through the real ``klero``
entry point. Each must end with exit code 1 and a message naming the file (and its row and column where
there is one), never a traceback, and leave the workspace's database exactly as it was (the SHA-256 of
its SQL dump before and after).

One workspace is prepared per stage (fresh; letters drawn; sign-ups in the pool; a poll with wave T1),
once per session, and copied for each case.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import copy_workspace, database_dump, lottery_workspace, run_cli, store_rows
from tests.deliberation.test_survey_files import INSTRUMENT, long_poll

Content = str | bytes | Callable[[Path], None]


@dataclass(frozen=True)
class Case:
    """One bad file: where it goes (``stage``), what it holds, the command that reads it (``{file}`` and
    ``{ws}`` filled in) and the fragments the message must hold besides the file name."""

    id: str
    stage: str
    name: str
    content: Content
    args: tuple[str, ...]
    fragments: tuple[str, ...] = ()
    named: bool = True  # the message names the file (False: the problem is an option, not a file)
    setup: Callable[[Path], None] | None = field(default=None, compare=False)


# -- the registry (BRP extract) -----------------------------------------------------------------------
REG_HEADER = (
    "bsn;voornamen;voorvoegsel;geslachtsnaam;geboortedatum;geslacht;straatnaam;huisnummer;huisletter;"
    "huisnummertoevoeging;postcode;woonplaats;wijkcode;geheimhouding"
)
REG_COLUMNS = REG_HEADER.split(";")
REG_ROWS = [
    ["100000001", "Jan", "", "Smit", "19800101", "M", "Kerkstraat", "5", "", "", "5981 AA", "Panningen", "WK01", "N"],
    [
        "100000002",
        "Anna",
        "de",
        "Vries",
        "19750315",
        "V",
        "Kerkstraat",
        "7",
        "",
        "",
        "5981 AA",
        "Panningen",
        "WK01",
        "N",
    ],
    ["100000003", "Piet", "", "Jansen", "19601230", "M", "Markt", "1", "a", "", "5981 AB", "Panningen", "WK02", "J"],
]


def registry(rows: list[list[str]] = REG_ROWS, header: str = REG_HEADER) -> str:
    return "\n".join([header, *(";".join(r) for r in rows)]) + "\n"


def registry_cell(column: str, value: str, row: int = 1) -> str:
    """The good extract with one cell changed (``row`` 0-based among the data rows; file row = row + 2)."""
    rows = [list(r) for r in REG_ROWS]
    rows[row][REG_COLUMNS.index(column)] = value
    return registry(rows)


REGISTRY_CELLS = [
    ("bsn", "", "empty id"),
    ("bsn", "=1+1", "not a valid BSN"),
    ("bsn", "123456789", "not a valid BSN"),
    ("bsn", "12345678901", "not a valid BSN"),
    ("bsn", "100000001", "duplicate id"),
    ("geboortedatum", "31-02-1980", "not a date"),
    ("geboortedatum", "abc", "not a date"),
    ("geboortedatum", "", "not a date"),
    ("geboortedatum", "29990101", "not a date"),
    ("geboortedatum", "18000101", "impossible birth date"),
    ("geboortedatum", "20250101", "after the reference date"),
    ("geslacht", "Q", "unknown gender code"),
    ("geslacht", "", "unknown gender code"),
    ("postcode", "ABCD 12", "malformed postcode"),
    ("postcode", "0123 AB", "malformed postcode"),
    ("postcode", "", "malformed postcode"),
    ("huisnummer", "0", "whole number"),
    ("huisnummer", "5½", "whole number"),
    ("huisnummer", "-3", "whole number"),
    ("huisnummer", "1.5", "whole number"),
    ("huisnummer", "=HYPERLINK(1)", "whole number"),
    ("geheimhouding", "misschien", "restricted-data flag"),
]


def _xlsx(frame: pd.DataFrame) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        frame.to_excel(path, index=False)

    return write


def _registry_xlsx_bad_date(path: Path) -> None:
    rows = [list(r) for r in REG_ROWS]
    rows[1][REG_COLUMNS.index("geboortedatum")] = "gisteren"
    pd.DataFrame(rows, columns=REG_COLUMNS).to_excel(path, index=False)


IMPORT = ("registry", "import", "{file}", "-w", "{ws}")
REGISTRY_CASES = [
    *(
        Case(
            f"registry-{col}-{value or 'blank'}",
            "fresh",
            "brp.csv",
            registry_cell(col, value),
            IMPORT,
            ("row 3", f"column '{col}'", message),
        )
        for col, value, message in REGISTRY_CELLS
    ),
    Case("registry-empty-file", "fresh", "brp.csv", "", IMPORT),
    Case("registry-header-only", "fresh", "brp.csv", REG_HEADER + "\n", IMPORT, ("no residents",)),
    Case(
        "registry-missing-column",
        "fresh",
        "brp.csv",
        registry([r[:4] + r[5:] for r in REG_ROWS], ";".join(REG_COLUMNS[:4] + REG_COLUMNS[5:])),
        IMPORT,
        ("geboortedatum",),
    ),
    Case(
        "registry-unknown-column",
        "fresh",
        "brp.csv",
        registry([[*r, "x"] for r in REG_ROWS], REG_HEADER + ";extra"),
        IMPORT,
        ("column 'extra'",),
    ),
    Case("registry-ragged-row", "fresh", "brp.csv", registry() + "100000004;Kees\n", IMPORT, ("row 5",)),
    Case(
        "registry-unclosed-quote",
        "fresh",
        "brp.csv",
        registry() + '100000004;"Kees;;Bos;19800101;M;X;1;;;5981 AA;P;WK01;N\n',
        IMPORT,
    ),
    Case("registry-binary", "fresh", "brp.csv", bytes(range(256)) * 4, IMPORT),
    Case("registry-damaged-xlsx", "fresh", "brp.xlsx", b"PK\x03\x04 not a workbook", IMPORT),
    Case(
        "registry-xlsx-bad-date",
        "fresh",
        "brp.xlsx",
        _registry_xlsx_bad_date,
        IMPORT,
        ("row 3", "column 'geboortedatum'"),
    ),
    Case("registry-damaged-parquet", "fresh", "brp.parquet", b"PAR1 not really parquet", IMPORT),
    Case("registry-utf16", "fresh", "brp.csv", registry().encode("utf-16"), IMPORT),
]

# -- sign-ups (the pool) --------------------------------------------------------------------------------
POOL_HEADER = "code;geslacht;leeftijdsgroep;opleiding"


def signups(codes: list[str], change: tuple[int, int, str] | None = None, header: str = POOL_HEADER) -> str:
    rows = [
        [code, "MV"[i % 2], ["25-39", "40-54", "55-69"][i % 3], ["laag", "middelbaar", "hoog"][i % 3]]
        for i, code in enumerate(codes)
    ]
    if change is not None:
        rows[change[0]][change[1]] = change[2]
    return "\n".join([header, *(";".join(r) for r in rows)]) + "\n"


def _pool_file(change: tuple[int, int, str] | None = None, *, duplicate: bool = False) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        codes = _codes(path)[:6]
        if duplicate:
            codes[3] = codes[1]
        path.write_text(signups(codes, change), encoding="utf-8")

    return write


def _codes(path: Path) -> list[str]:
    """The letter codes of the workspace the case runs in (``path`` lies next to it)."""
    return [str(r[0]) for r in store_rows(path.parent / "ws", "SELECT code FROM letters ORDER BY code")]


POOL = ("pool", "import", "{file}", "-w", "{ws}")
POOL_CASES = [
    Case(
        "pool-unknown-code",
        "letters",
        "aanmeldingen.csv",
        _pool_file((2, 0, "ZZZZ-ZZZZ-ZZZZ")),
        POOL,
        ("row 4", "column 'code'"),
    ),
    Case("pool-empty-code", "letters", "aanmeldingen.csv", _pool_file((2, 0, "")), POOL, ("row 4", "column 'code'")),
    Case("pool-bad-gender", "letters", "aanmeldingen.csv", _pool_file((2, 1, "Q")), POOL, ("row 4", "geslacht")),
    Case("pool-formula-gender", "letters", "aanmeldingen.csv", _pool_file((2, 1, "=1+1")), POOL, ("row 4", "geslacht")),
    Case(
        "pool-bad-age-band", "letters", "aanmeldingen.csv", _pool_file((1, 2, "200")), POOL, ("row 3", "leeftijdsgroep")
    ),
    Case("pool-doctor", "letters", "aanmeldingen.csv", _pool_file((0, 3, "doctor")), POOL, ("row 2", "opleiding")),
    Case("pool-blank-education", "letters", "aanmeldingen.csv", _pool_file((0, 3, "")), POOL, ("row 2", "opleiding")),
    Case("pool-duplicate-code", "letters", "aanmeldingen.csv", _pool_file(duplicate=True), POOL, ("row 5",)),
    Case("pool-header-only", "letters", "aanmeldingen.csv", POOL_HEADER + "\n", POOL),
    Case("pool-empty-file", "letters", "aanmeldingen.csv", "", POOL),
    Case("pool-missing-column", "letters", "aanmeldingen.csv", "code;geslacht\nX;M\n", POOL),
    Case("pool-damaged-xlsx", "letters", "aanmeldingen.xlsx", b"PK\x03\x04 nope", POOL),
]

# -- shares and quotas ----------------------------------------------------------------------------------
DERIVE = ("quotas", "derive", "--size", "10", "--shares", "{file}", "-w", "{ws}")
QUOTAS = ("quotas", "import", "{file}", "--size", "10", "-w", "{ws}")
SHARES_HEADER = "category,feature,share\n"
EDUCATION_OK = "education,laag,0.27\neducation,middelbaar,0.37\neducation,hoog,0.36\n"
SHARES_CASES = [
    Case(
        "shares-doctor",
        "pool",
        "shares.csv",
        SHARES_HEADER + "education,laag,0.27\neducation,middelbaar,0.37\neducation,doctor,0.36\n",
        DERIVE,
        ("row 4", "column 'feature'", "doctor"),
    ),
    Case(
        "shares-missing-value",
        "pool",
        "shares.csv",
        SHARES_HEADER + "education,laag,0.5\neducation,middelbaar,0.5\n",
        DERIVE,
        ("no share for hoog",),
    ),
    Case(
        "shares-sum-1.5",
        "pool",
        "shares.csv",
        SHARES_HEADER + "education,laag,0.5\neducation,middelbaar,0.5\neducation,hoog,0.5\n",
        DERIVE,
        ("sum to 1.5",),
    ),
    Case(
        "shares-text",
        "pool",
        "shares.csv",
        SHARES_HEADER + EDUCATION_OK.replace("0.27", "veel"),
        DERIVE,
        ("row 2", "column 'share'"),
    ),
    Case(
        "shares-negative",
        "pool",
        "shares.csv",
        SHARES_HEADER + EDUCATION_OK.replace("0.27", "-0.27"),
        DERIVE,
        ("row 2", "column 'share'"),
    ),
    Case(
        "shares-nan",
        "pool",
        "shares.csv",
        SHARES_HEADER + EDUCATION_OK.replace("0.37", "nan"),
        DERIVE,
        ("row 3", "column 'share'"),
    ),
    Case(
        "shares-unknown-category",
        "pool",
        "shares.csv",
        SHARES_HEADER + EDUCATION_OK + "inkomen,hoog,1\n",
        DERIVE,
        ("row 5", "column 'category'"),
    ),
    Case(
        "shares-missing-column", "pool", "shares.csv", "category,feature\neducation,laag\n", DERIVE, ("column 'share'",)
    ),
    Case(
        "shares-unknown-wijk",
        "pool",
        "shares.csv",
        SHARES_HEADER + "wijk,WK189401,0.5\nwijk,WK999999,0.5\n",
        DERIVE,
        ("WK999999",),
    ),
    Case("shares-empty-file", "pool", "shares.csv", "", DERIVE),
    Case(
        "quotas-min-above-max",
        "pool",
        "quotas.csv",
        "category,feature,min,max\ngender,M,6,4\ngender,V,4,6\n",
        QUOTAS,
        ("row 2",),
    ),
    Case(
        "quotas-not-a-number",
        "pool",
        "quotas.csv",
        "category,feature,min,max\ngender,M,vijf,6\ngender,V,4,6\n",
        QUOTAS,
        ("row 2", "column 'min'"),
    ),
    Case(
        "quotas-negative",
        "pool",
        "quotas.csv",
        "category,feature,min,max\ngender,M,-1,6\ngender,V,4,6\n",
        QUOTAS,
        ("row 2", "column 'min'"),
    ),
    Case("quotas-missing-column", "pool", "quotas.csv", "category,feature,min\ngender,M,4\n", QUOTAS, ("max",)),
    Case(
        "quotas-bad-share",
        "pool",
        "quotas.csv",
        "category,feature,min,max,population_share\ngender,M,4,6,half\ngender,V,4,6,0.5\n",
        QUOTAS,
        ("row 2", "column 'population_share'"),
    ),
    Case(
        "quotas-panel-larger-than-pool",
        "pool",
        "quotas.csv",
        "category,feature,min,max\ngender,M,0,100000\ngender,V,0,100000\n",
        ("quotas", "import", "{file}", "--size", "100000", "-w", "{ws}"),
        ("pool of",),
        named=False,
    ),
    Case(
        "derive-panel-larger-than-pool",
        "pool",
        "shares.csv",
        SHARES_HEADER + EDUCATION_OK,
        ("quotas", "derive", "--size", "100000", "--shares", "{file}", "-w", "{ws}"),
        ("pool of",),
        named=False,
    ),
]

# -- process.toml and report settings -----------------------------------------------------------------


def _setting(line: str) -> Callable[[Path], None]:
    """Put ``line`` into the copied workspace's [process] table (replacing the key if present)."""

    def setup(ws: Path) -> None:
        process = ws / "process.toml"
        key = line.split(" = ")[0]
        kept = [r for r in process.read_text(encoding="utf-8").splitlines() if not r.startswith(key + " ")]
        process.write_text("\n".join(kept).replace("[process]", "[process]\n" + line, 1) + "\n", encoding="utf-8")

    return setup


def _broken_process(ws: Path) -> None:
    (ws / "process.toml").write_text("[process\nname = 'x'\n", encoding="utf-8")


STATUS = ("status", "-w", "{ws}")
SETTINGS_CASES = [
    Case(
        "settings-suppression-negative",
        "fresh",
        "process.toml",
        "",
        STATUS,
        ("suppression_threshold",),
        setup=_setting("suppression_threshold = -1"),
    ),
    Case(
        "settings-suppression-zero",
        "fresh",
        "process.toml",
        "",
        STATUS,
        ("suppression_threshold",),
        setup=_setting("suppression_threshold = 0"),
    ),
    Case(
        "settings-suppression-text",
        "fresh",
        "process.toml",
        "",
        STATUS,
        ("suppression_threshold",),
        setup=_setting('suppression_threshold = "five"'),
    ),
    Case(
        "settings-suppression-float",
        "fresh",
        "process.toml",
        "",
        STATUS,
        ("suppression_threshold",),
        setup=_setting("suppression_threshold = 2.5"),
    ),
    Case(
        "settings-retention-date",
        "fresh",
        "process.toml",
        "",
        STATUS,
        ("retention_date",),
        setup=_setting('retention_date = "31-12-2027"'),
    ),
    Case(
        "settings-flag",
        "fresh",
        "process.toml",
        "",
        STATUS,
        ("exclude_restricted",),
        setup=_setting("exclude_restricted = 1"),
    ),
    Case("settings-broken-toml", "fresh", "process.toml", "", STATUS, setup=_broken_process),
    Case(
        "report-settings-broken-toml",
        "none",
        "report.toml",
        "[report\nremit = 1\n",
        ("init", "{ws}/new", "--name", "T", "--municipality", "M", "--settings", "{file}"),
    ),
    Case(
        "report-settings-not-utf8",
        "none",
        "report.toml",
        b"[report]\nremit = '\xff\xfe'\n",
        ("init", "{ws}/new", "--name", "T", "--municipality", "M", "--settings", "{file}"),
    ),
]

# -- the poll: instrument, respondents, waves, packets, moderators ----------------------------------------
DEFINE = ("poll", "define", "{file}", "-w", "{ws}")
WAVES = INSTRUMENT[INSTRUMENT.index("[[waves]]") :]
INSTRUMENT_CASES = [
    Case("instrument-broken-toml", "fresh", "instrument.toml", INSTRUMENT.replace("[[waves]]", "[[waves]", 1), DEFINE),
    Case("instrument-empty", "fresh", "instrument.toml", "", DEFINE),
    Case("instrument-no-waves", "fresh", "instrument.toml", INSTRUMENT[: INSTRUMENT.index("[[waves]]")], DEFINE),
    Case(
        "instrument-unknown-kind",
        "fresh",
        "instrument.toml",
        INSTRUMENT.replace('kind = "scale"', 'kind = "slider"'),
        DEFINE,
    ),
    Case("instrument-min-above-max", "fresh", "instrument.toml", INSTRUMENT.replace("max = 10", "max = -1"), DEFINE),
    Case(
        "instrument-duplicate-code",
        "fresh",
        "instrument.toml",
        INSTRUMENT.replace('code = "K1"', 'code = "A1"'),
        DEFINE,
    ),
    Case(
        "instrument-correct-not-an-option",
        "fresh",
        "instrument.toml",
        INSTRUMENT.replace('correct = "1"', 'correct = "7"'),
        DEFINE,
    ),
    Case(
        "instrument-unknown-wave-kind",
        "fresh",
        "instrument.toml",
        INSTRUMENT.replace('kind = "post"', 'kind = "later"'),
        DEFINE,
    ),
    Case(
        "instrument-not-utf8", "fresh", "instrument.toml", INSTRUMENT.encode("utf-8").replace(b'"a"', b'"\xff"'), DEFINE
    ),
    Case("instrument-damaged-xlsx", "fresh", "instrument.xlsx", b"PK\x03\x04 nope", DEFINE),
    Case("instrument-xlsx-no-sheets", "fresh", "instrument.xlsx", _xlsx(pd.DataFrame({"x": [1]})), DEFINE),
]


def _wide(
    change: dict[str, str] | None = None, *, ids: list[str] | None = None, extra: bool = False
) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        people = ids or [f"r{i}" for i in range(6)]
        frame = pd.DataFrame({"participant_id": people, "A1": ["5"] * len(people), "K1": ["1"] * len(people)})
        for column, value in (change or {}).items():
            frame.loc[2, column] = value
        if extra:
            frame["notes"] = "x"
        frame.to_csv(path, index=False)

    return write


T2 = ("survey", "import", "{file}", "--wave", "T2", "-w", "{ws}")
LONG = (
    "survey",
    "import",
    "{file}",
    "-w",
    "{ws}",
    "--id-column",
    "ID",
    "--wave-column",
    "Time",
    "--arm-column",
    "Group",
)


def _long(change: dict[str, str]) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        frame = long_poll(blank_rows=False, seed=9)
        frame = frame[frame["Time"] == "T2"].drop(columns=["wt", "age"]).head(8).reset_index(drop=True).astype(str)
        for column, value in change.items():
            frame.loc[2, column] = value
        frame.to_csv(path, index=False)

    return write


def _sav(path: Path) -> None:
    import pyreadstat

    frame = pd.DataFrame({"participant_id": ["r0", "r1", "r2"], "A1": [5.0, 42.0, 3.0], "K1": [1.0, 2.0, 1.0]})
    pyreadstat.write_sav(frame, str(path))


SURVEY_CASES = [
    Case("wave-out-of-scale", "poll", "T2.csv", _wide({"A1": "11"}), T2, ("row 4", "column 'A1'")),
    Case("wave-text-answer", "poll", "T2.csv", _wide({"A1": "veel"}), T2, ("row 4", "column 'A1'")),
    Case("wave-formula", "poll", "T2.csv", _wide({"A1": "=1+1"}), T2, ("row 4", "column 'A1'")),
    Case("wave-bad-knowledge-option", "poll", "T2.csv", _wide({"K1": "7"}), T2, ("row 4", "column 'K1'")),
    Case(
        "wave-unknown-respondent",
        "poll",
        "T2.csv",
        _wide({"participant_id": "nobody"}),
        T2,
        ("row 4", "participant_id"),
    ),
    Case("wave-empty-id", "poll", "T2.csv", _wide({"participant_id": ""}), T2, ("row 4", "participant_id")),
    Case("wave-duplicate-id", "poll", "T2.csv", _wide(ids=["r0", "r1", "r2", "r1"]), T2, ("row 5", "participant_id")),
    Case("wave-extra-column", "poll", "T2.csv", _wide(extra=True), T2, ("column 'notes'",)),
    Case("wave-missing-id-column", "poll", "T2.csv", "ID,A1,K1\nr0,5,1\n", T2, ("participant_id",)),
    Case("wave-header-only", "poll", "T2.csv", "participant_id,A1,K1\n", T2, ("no answers",)),
    Case("wave-every-answer-blank", "poll", "T2.csv", "participant_id,A1,K1\nr0,,\nr1,,\n", T2, ("no answers",)),
    Case(
        "wave-empty-replacement",
        "poll",
        "T1.csv",
        "participant_id,A1,K1\n",
        ("survey", "import", "{file}", "--wave", "T1", "--replace", "-w", "{ws}"),
        ("no answers",),
    ),
    Case(
        "wave-unknown-wave",
        "poll",
        "T9.csv",
        _wide(),
        ("survey", "import", "{file}", "--wave", "T9", "-w", "{ws}"),
        ("T9",),
        named=False,
    ),
    Case("wave-damaged-xlsx", "poll", "T2.xlsx", b"PK\x03\x04 nope", T2),
    Case("wave-binary-csv", "poll", "T2.csv", bytes(range(256)) * 8, T2),
    Case("long-unknown-wave-value", "poll", "poll.csv", _long({"Time": "T7"}), LONG, ("row 4", "column 'Time'")),
    Case("long-unknown-arm", "poll", "poll.csv", _long({"Group": "Martians"}), LONG, ("row 4", "column 'Group'")),
    Case("long-out-of-scale", "poll", "poll.csv", _long({"A1": "12"}), LONG, ("row 4", "column 'A1'")),
    Case("long-missing-wave-column", "poll", "poll.csv", "ID,Group,A1,K1\nr0,Treatment,5,1\n", LONG, ("Time",)),
    Case(
        "spss-out-of-scale", "poll", "T2.sav", _sav, T2, ("row 2", "column 'A1'")
    ),  # an SPSS file has no header row: row = case number
    Case("spss-damaged", "poll", "T2.sav", b"$FL2 not really spss", T2),
    Case(
        "respondents-unknown-arm",
        "fresh-poll",
        "people.csv",
        "ID,Group\nr0,Treatment\nr1,Martians\n",
        ("survey", "respondents", "{file}", "--id-column", "ID", "--arm-column", "Group", "-w", "{ws}"),
        ("row 3", "column 'Group'"),
    ),
    Case(
        "respondents-empty-id",
        "fresh-poll",
        "people.csv",
        "ID,Group\nr0,Treatment\n,Control\n",
        ("survey", "respondents", "{file}", "--id-column", "ID", "--arm-column", "Group", "-w", "{ws}"),
        ("row 3", "column 'ID'"),
    ),
    Case(
        "respondents-duplicate-id",
        "fresh-poll",
        "people.csv",
        "ID,Group\nr0,Treatment\nr0,Control\n",
        ("survey", "respondents", "{file}", "--id-column", "ID", "--arm-column", "Group", "-w", "{ws}"),
        ("row 3", "column 'Group'", "differs between rows of the same respondent"),
    ),
]

PACKET = ("packet", "import", "{file}", "-w", "{ws}")
PACKET_OK = 'title = "t"\n[[arguments]]\noption = "A"\nside = "pro"\ntext = "x"\nsource = "s"\n'
PACKET_CASES = [
    Case("packet-broken-toml", "poll", "brochure.toml", PACKET_OK.replace("[[arguments]]", "[[arguments]"), PACKET),
    Case("packet-bad-side", "poll", "brochure.toml", PACKET_OK.replace('"pro"', '"maybe"'), PACKET, ("side",)),
    Case("packet-no-text", "poll", "brochure.toml", PACKET_OK.replace('text = "x"\n', ""), PACKET, ("text",)),
    Case("packet-no-arguments", "poll", "brochure.toml", 'title = "t"\n', PACKET),
    Case("packet-empty", "poll", "brochure.toml", "", PACKET),
    Case(
        "moderators-empty",
        "poll",
        "moderatoren.csv",
        "",
        ("groups", "assign", "--size", "4", "--moderators", "{file}", "-w", "{ws}"),
    ),
    Case(
        "moderators-no-column",
        "poll",
        "moderatoren.csv",
        "naam\nA\n",
        ("groups", "assign", "--size", "4", "--moderators", "{file}", "-w", "{ws}"),
    ),
]

# -- klero select: people, categories, settings (no workspace) ---------------------------------------------
CATEGORIES_OK = "category,feature,min,max\ngender,M,1,2\ngender,V,1,2\n"
PEOPLE_OK = "id,gender\n" + "".join(f"p{i},{'MV'[i % 2]}\n" for i in range(8))


def _select(
    categories: str = CATEGORIES_OK, people: str = PEOPLE_OK, size: str = "3"
) -> tuple[Content, tuple[str, ...]]:
    def write(path: Path) -> None:
        (path.parent / "categories.csv").write_text(categories, encoding="utf-8")
        path.write_text(people, encoding="utf-8")

    args = ("select", "--categories", "{dir}/categories.csv", "--respondents", "{file}", "--size", size, "--seed", "1")
    return write, args


def _select_case(id_: str, fragments: tuple[str, ...], *, named: bool = True, **kwargs: str) -> Case:
    content, args = _select(**kwargs)
    return Case(id_, "none", "people.csv", content, args, fragments, named=named)


SELECT_CASES = [
    _select_case("select-unknown-feature", ("row 3", "gender"), people=PEOPLE_OK.replace("p1,V", "p1,Q")),
    _select_case("select-empty-id", ("row 3",), people=PEOPLE_OK.replace("p1,V", ",V")),
    _select_case("select-duplicate-id", ("row 3",), people=PEOPLE_OK.replace("p1,V", "p0,V")),
    _select_case("select-missing-column", ("gender",), people="id,sex\np0,M\n"),
    _select_case("select-min-above-max", ("row 2",), named=False, categories=CATEGORIES_OK.replace("M,1,2", "M,3,2")),
    _select_case("select-category-text", ("row 2",), named=False, categories=CATEGORIES_OK.replace("M,1,2", "M,een,2")),
    _select_case("select-panel-larger-than-pool", ("pool of 8",), named=False, size="100000"),
    _select_case("select-panel-zero", ("1 or more",), named=False, size="0"),
    _select_case("select-empty-people", (), people=""),
]

CASES = [
    *REGISTRY_CASES,
    *POOL_CASES,
    *SHARES_CASES,
    *SETTINGS_CASES,
    *INSTRUMENT_CASES,
    *SURVEY_CASES,
    *PACKET_CASES,
    *SELECT_CASES,
]


def test_the_corpus_is_large_and_each_case_named_once() -> None:
    assert len(CASES) >= 100
    assert len({c.id for c in CASES}) == len(CASES)


# -- stages ---------------------------------------------------------------------------------------------


def _prepare(stage: str, base: Path, mp: pytest.MonkeyPatch) -> Path:
    root = base / "ws"
    if stage == "none":
        root.mkdir()
        return root
    if stage in ("fresh", "fresh-poll"):
        assert (
            run_cli(
                mp, "init", str(root), "--name", "T", "--municipality", "Peel en Maas", "--reference-date", "2024-01-01"
            )
            == 0
        )
        if stage == "fresh-poll":
            (base / "instrument.toml").write_text(INSTRUMENT, encoding="utf-8")
            assert run_cli(mp, "poll", "define", str(base / "instrument.toml"), "-w", str(root)) == 0
        return root
    if stage == "poll":
        root = _prepare("fresh-poll", base, mp)
        frame = long_poll(blank_rows=False, seed=9)
        frame[frame["Time"] == "T1"].drop(columns=["wt", "age"]).to_csv(base / "t1.csv", index=False)
        assert run_cli(mp, *(a.format(file=base / "t1.csv", ws=root) for a in LONG)) == 0
        return root
    root = lottery_workspace(base, mp, letters=80)
    if stage == "pool":
        codes = [str(r[0]) for r in store_rows(root, "SELECT code FROM letters ORDER BY code LIMIT 40")]
        (base / "signups.csv").write_text(signups(codes), encoding="utf-8")
        assert run_cli(mp, "pool", "import", str(base / "signups.csv"), "-w", str(root)) == 0
    return root


@pytest.fixture(scope="session")
def stages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One prepared workspace per stage (built once; each case copies its stage's)."""
    prepared = {}
    with pytest.MonkeyPatch.context() as mp:
        for stage in ("none", "fresh", "fresh-poll", "letters", "pool", "poll"):
            prepared[stage] = _prepare(stage, tmp_path_factory.mktemp(f"stage-{stage}"), mp)
    return prepared


def dump_hash(root: Path) -> str:
    """SHA-256 of the SQL dump of the workspace's database ('' for a folder without one)."""
    return hashlib.sha256(database_dump(root).encode("utf-8")).hexdigest()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_named_refused_and_changes_nothing(
    case: Case,
    stages: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = tmp_path / "ws"
    copy_workspace(stages[case.stage], root)
    if case.setup is not None:
        case.setup(root)
    path = tmp_path / case.name
    if isinstance(case.content, bytes):
        path.write_bytes(case.content)
    elif isinstance(case.content, str):
        path.write_text(case.content, encoding="cp1252" if case.name == "brp.csv" else "utf-8")
    else:
        case.content(path)
    before = dump_hash(root)
    capsys.readouterr()
    args = [a.format(file=path, ws=root, dir=tmp_path) for a in case.args]
    code = run_cli(monkeypatch, *args)
    captured = capsys.readouterr()
    out = " ".join((captured.out + captured.err).split())
    assert code == 1, out
    assert "Traceback" not in out
    if case.named:
        assert case.name in out, out
    for fragment in case.fragments:
        assert fragment in out, out
    assert dump_hash(root) == before
