"""The lists an organiser needs, assembled from the store as tables (Dutch column names), and
``export_list`` that writes one of them with ``kleroterion.exports``.

- ``letter_list``: the mail merge of the invitation letters (code, name, address).
- ``panel_list``: the panel of the latest draw with its ordered alternates, the replaced and the
  replacements: invitation code, name, address, the contact details and answers kept from the sign-up.
- ``group_list``: the small groups with their moderator and active members (participant ids).
- ``control_list``: the control group's mailing list (survey id, name, address).

Addresses carry huisnummer, huisletter and huisnummertoevoeging exactly as the registry has them;
``adresregel`` joins them with the street for a letter ("Molenstraat 643 B"). These functions only
read; ``export_list`` writes through ``kleroterion.exports`` and records the export in the audit log.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from kleroterion.errors import KleroError
from kleroterion.exports import DEFAULT_ENCODING, ExportResult, export_format, record_export, write_table
from kleroterion.workspace import Workspace
from sortition.pool import person_id

NAME_COLUMNS = ("voornamen", "voorvoegsel", "geslachtsnaam")
ADDRESS_COLUMNS = (
    "straatnaam",
    "huisnummer",
    "huisletter",
    "huisnummertoevoeging",
    "adresregel",
    "postcode",
    "woonplaats",
)
#: panel_members (role, status) -> status in the panel list.
PANEL_STATUS = {
    ("panel", "active"): "lid",
    ("panel", "replaced"): "vervangen",
    ("alternate", "active"): "reserve",
    ("alternate", "promoted"): "vervanger",
    ("alternate", "replaced"): "vervangen",
    ("replacement", "active"): "vervanger",
    ("replacement", "replaced"): "vervangen",
}
STATUS_ORDER = {"lid": 0, "vervanger": 1, "reserve": 2, "vervangen": 3}

_RESIDENT_SQL = (
    "SELECT r.id, r.given_names, r.name_prefix, r.surname, r.street, r.house_number, r.house_letter,"
    " r.house_suffix, r.address_key, r.postcode, r.city FROM residents r"
)


def address_line(street: str, number: str, letter: str, suffix: str) -> str:
    """Street and full house number as on an envelope: ``Molenstraat 643 B``, ``Kerkweg 12 A 2``."""
    return " ".join(part for part in (street, number, letter, suffix) if part)


def _resident_frame(rows: list[Any]) -> pd.DataFrame:
    """Residents' name and address columns; huisletter and toevoeging from the address key when the
    extract was imported before they were stored (migration 0006)."""
    records = []
    for r in rows:
        key = str(r["address_key"]).split("|")
        letter = r["house_letter"] if r["house_letter"] is not None else (key[2] if len(key) > 2 else "")
        suffix = r["house_suffix"] if r["house_suffix"] is not None else (key[3] if len(key) > 3 else "")
        street, number = r["street"] or "", str(r["house_number"] or "")
        records.append(
            {
                "resident_id": r["id"],
                "voornamen": r["given_names"] or "",
                "voorvoegsel": r["name_prefix"] or "",
                "geslachtsnaam": r["surname"] or "",
                "straatnaam": street,
                "huisnummer": number,
                "huisletter": letter or "",
                "huisnummertoevoeging": suffix or "",
                "adresregel": address_line(street, number, letter or "", suffix or ""),
                "postcode": r["postcode"] or "",
                "woonplaats": r["city"] or "",
            }
        )
    return pd.DataFrame(records, columns=["resident_id", *NAME_COLUMNS, *ADDRESS_COLUMNS])


def letter_list(ws: Workspace) -> pd.DataFrame:
    """The mail merge: ``code`` + name + address of every letter, by postcode and house number."""
    rows = ws.store.query(
        _RESIDENT_SQL.replace("SELECT", "SELECT l.code,", 1) + " JOIN letters l ON l.resident_id = r.id"
        " ORDER BY r.postcode, CAST(r.house_number AS INTEGER), r.house_letter, r.house_suffix, l.code"
    )
    frame = _resident_frame(rows)
    frame.insert(0, "code", [r["code"] for r in rows])
    return frame.drop(columns="resident_id")


def _letter_addresses(ws: Workspace) -> pd.DataFrame:
    """Name and address per invitation code (``code`` column)."""
    rows = ws.store.query(
        _RESIDENT_SQL.replace("SELECT", "SELECT l.code,", 1) + " JOIN letters l ON l.resident_id = r.id"
    )
    frame = _resident_frame(rows)
    frame.insert(0, "code", [r["code"] for r in rows])
    return frame.drop(columns="resident_id").set_index("code")


def panel_list(ws: Workspace) -> pd.DataFrame:
    """Everyone of the latest panel draw: ``status`` (lid / vervanger / reserve / vervangen),
    ``volgorde`` (the order of an alternate, from 1), ``vervangt`` / ``vervangen_door`` (pool ids),
    ``reden`` (why someone left), ``deelnemer_id`` (pool id), ``uitnodigingscode``, name, address,
    then the contact details and the answers kept from the sign-up."""
    draw = ws.store.latest_panel_draw()
    draw_id = int(draw["id"])
    members = ws.store.query(
        "SELECT m.person_id, m.role, m.rank, m.status, p.letter_code, p.contact, p.features"
        " FROM panel_members m JOIN pool_members p ON p.id = m.person_id WHERE m.draw_id = ?",
        (draw_id,),
    )
    replaced_by = {r["person_out"]: r for r in ws.store.replacements(draw_id)}
    replaces = {r["person_in"]: r["person_out"] for r in ws.store.replacements(draw_id)}
    addresses = _letter_addresses(ws)
    records = []
    contact_keys: dict[str, None] = {}
    feature_keys: dict[str, None] = {}
    for m in members:
        contact, features = _json(m["contact"]), _json(m["features"])
        contact_keys.update(dict.fromkeys(contact))
        feature_keys.update(dict.fromkeys(features))
        status = PANEL_STATUS.get((m["role"], m["status"]), f"{m['role']} ({m['status']})")
        left = replaced_by.get(m["person_id"])
        records.append(
            {
                "status": status,
                "volgorde": int(m["rank"]) if m["role"] == "alternate" else "",
                "vervangt": replaces.get(m["person_id"], ""),
                "vervangen_door": left["person_in"] if left else "",
                "reden": left["reason"] if left else "",
                "deelnemer_id": m["person_id"],
                "uitnodigingscode": m["letter_code"],
                **addresses.loc[m["letter_code"]].to_dict(),
                **{f"contact_{k}": v for k, v in contact.items()},
                **{f"antwoord_{k}": v for k, v in features.items()},
                "_order": (STATUS_ORDER.get(status, 9), m["role"] != "panel", int(m["rank"])),
            }
        )
    columns = [
        "status",
        "volgorde",
        "vervangt",
        "vervangen_door",
        "reden",
        "deelnemer_id",
        "uitnodigingscode",
        *NAME_COLUMNS,
        *ADDRESS_COLUMNS,
        *(f"contact_{k}" for k in contact_keys),
        *(f"antwoord_{k}" for k in feature_keys),
    ]
    records.sort(key=lambda rec: rec["_order"])
    return pd.DataFrame(records, columns=columns).fillna("")


def _json(text: str) -> dict[str, Any]:
    value = json.loads(text or "{}")
    return value if isinstance(value, dict) else {}


def group_list(ws: Workspace) -> pd.DataFrame:
    """Active members of every small group: ``groep``, ``gespreksleider``, ``deelnemer_id`` and,
    for panel members, invitation code, name and contact details."""
    groups = ws.store.small_groups()
    if groups.empty:
        raise KleroError("No small groups yet: run `klero groups assign` first.", code="no_groups")
    members = ws.store.groups().merge(groups[["group", "moderator"]], on="group", how="left")
    pool = {
        person_id(r["letter_code"]): (r["letter_code"], _json(r["contact"]))
        for r in ws.store.query("SELECT letter_code, contact FROM pool_members")
    }
    addresses = _letter_addresses(ws)
    records = []
    for m in members.itertuples(index=False):
        code, contact = pool.get(str(m.participant_id), ("", {}))
        names = addresses.loc[code, list(NAME_COLUMNS)].to_dict() if code in addresses.index else {}
        records.append(
            {
                "groep": m.group,
                "gespreksleider": m.moderator,
                "deelnemer_id": m.participant_id,
                "uitnodigingscode": code,
                **names,
                "contact_email": contact.get("email", ""),
                "contact_telefoon": contact.get("telefoon", ""),
            }
        )
    columns = [
        "groep",
        "gespreksleider",
        "deelnemer_id",
        "uitnodigingscode",
        *NAME_COLUMNS,
        "contact_email",
        "contact_telefoon",
    ]
    return pd.DataFrame(records, columns=columns).fillna("")


def control_id(resident_pseudonym: str) -> str:
    """The survey id of a control-group member: ``C`` + the first 10 hex digits of SHA-256 of the
    resident's pseudonym, upper case (as ``klero poll control`` stores it)."""
    return "C" + hashlib.sha256(resident_pseudonym.encode()).hexdigest()[:10].upper()


def control_list(ws: Workspace) -> pd.DataFrame:
    """The control group's mailing list: ``deelnemer_id`` (their survey id), name and address."""
    participants = ws.store.participants()
    control = set(participants.loc[participants["arm"] == "control", "participant_id"]) if len(participants) else set()
    if not control:
        raise KleroError("No control group yet: run `klero poll control --count N` first.", code="no_control")
    residents = _resident_frame(ws.store.query(_RESIDENT_SQL))
    residents.insert(0, "deelnemer_id", [control_id(str(r)) for r in residents["resident_id"]])
    found = residents[residents["deelnemer_id"].isin(control)]
    if len(found) != len(control):
        raise KleroError(
            f"{len(control) - len(found)} of the {len(control)} control-group members are no longer in the "
            "registry extract of this workspace.",
            code="control_missing",
        )
    return (
        found.drop(columns="resident_id").sort_values(["postcode", "huisnummer", "deelnemer_id"]).reset_index(drop=True)
    )


LISTS = {"letters": letter_list, "panel": panel_list, "groups": group_list, "control": control_list}


def export_list(ws: Workspace, kind: str, path: Path, *, encoding: str = DEFAULT_ENCODING) -> ExportResult:
    """Write list ``kind`` (``letters``, ``panel``, ``groups`` or ``control``) to ``path`` (.csv or
    .xlsx) and audit it (kind, file name, row count; no personal data). A bad file name, folder or
    encoding fails before the store is read; nothing is written when the list cannot be made."""
    export_format(path, encoding=encoding)
    table = LISTS[kind](ws)
    result = write_table(table, path, encoding=encoding)
    if "status" in table:
        result = replace(result, counts={str(k): int(v) for k, v in table["status"].value_counts(sort=False).items()})
    record_export(ws.store, kind, result)
    return result
