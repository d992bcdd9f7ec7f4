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
from dataclasses import replace
from pathlib import Path

import pandas as pd

from kleroterion.errors import KleroError
from kleroterion.exports import DEFAULT_ENCODING, ExportResult, export_format, record_export, write_table
from kleroterion.workspace import Workspace

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

#: store column -> list column (the BRP's Dutch names, as in the registry extract).
DUTCH = {
    "given_names": "voornamen",
    "name_prefix": "voorvoegsel",
    "surname": "geslachtsnaam",
    "street": "straatnaam",
    "house_number": "huisnummer",
    "house_letter": "huisletter",
    "house_suffix": "huisnummertoevoeging",
    "postcode": "postcode",
    "city": "woonplaats",
}


def address_line(street: str, number: str, letter: str, suffix: str) -> str:
    """Street and full house number as on an envelope: ``Molenstraat 643 B``, ``Kerkweg 12 A 2``."""
    return " ".join(part for part in (street, number, letter, suffix) if part)


def _dutch(addresses: pd.DataFrame) -> pd.DataFrame:
    """Store name/address columns renamed to the Dutch list columns, with ``adresregel`` added."""
    frame = addresses.rename(columns=DUTCH)
    frame["adresregel"] = [
        address_line(*parts)
        for parts in zip(
            frame["straatnaam"], frame["huisnummer"], frame["huisletter"], frame["huisnummertoevoeging"], strict=True
        )
    ]
    keep = [c for c in frame.columns if c not in (*NAME_COLUMNS, *ADDRESS_COLUMNS)]
    return frame[[*keep, *NAME_COLUMNS, *ADDRESS_COLUMNS]]


def letter_list(ws: Workspace) -> pd.DataFrame:
    """The mail merge: ``code`` + name + address of every letter, by postcode and house number."""
    return _dutch(ws.store.letter_recipients()).drop(columns="resident_id")


def _letter_addresses(ws: Workspace) -> pd.DataFrame:
    """Name and address per invitation code (index ``code``)."""
    return letter_list(ws).set_index("code")


def panel_list(ws: Workspace) -> pd.DataFrame:
    """Everyone of the latest panel draw: ``status`` (lid / vervanger / reserve / vervangen),
    ``volgorde`` (the order of an alternate, from 1), ``vervangt`` / ``vervangen_door`` (pool ids),
    ``reden`` (why someone left), ``deelnemer_id`` (pool id), ``uitnodigingscode``, name, address,
    then the contact details and the answers kept from the sign-up. A pool from a people file has no
    letters: ``bestand_id`` (the file's id) instead of code, name and address."""
    draw_id = int(ws.store.latest_panel_record().draw_id or 0)
    members = ws.store.panel_member_details(draw_id)
    replaced_by = {r["person_out"]: r for r in ws.store.replacements(draw_id)}
    replaces = {r["person_in"]: r["person_out"] for r in ws.store.replacements(draw_id)}
    addresses = _letter_addresses(ws)
    external = ws.store.pool_external_ids()  # a pool from a people file: the file's own ids, no letters
    records = []
    contact_keys: dict[str, None] = {}
    feature_keys: dict[str, None] = {}
    for m in members:
        contact, features = m["contact"], m["features"]
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
                "uitnodigingscode": m["letter_code"] or "",
                **({"bestand_id": external[m["person_id"]]} if external else {}),
                **(addresses.loc[m["letter_code"]].to_dict() if m["letter_code"] in addresses.index else {}),
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
        *(["bestand_id"] if external else []),
        *NAME_COLUMNS,
        *ADDRESS_COLUMNS,
        *(f"contact_{k}" for k in contact_keys),
        *(f"antwoord_{k}" for k in feature_keys),
    ]
    records.sort(key=lambda rec: rec["_order"])
    return pd.DataFrame(records, columns=columns).astype(object).fillna("")  # no letters: name columns empty


def _group_number(name: str) -> int | str:
    """A group as its number (groups are stored as "group N"); another name as it is."""
    number = name.removeprefix("group ")
    return int(number) if number.isdigit() else name


def group_list(ws: Workspace) -> pd.DataFrame:
    """Active members of every small group: ``groep``, ``gespreksleider``, ``deelnemer_id`` and,
    for panel members, invitation code, name and contact details."""
    groups = ws.store.small_groups()
    if groups.empty:
        raise KleroError("No small groups yet: run `klero groups assign` first.", code="no_groups")
    members = ws.store.groups().merge(groups[["group", "moderator"]], on="group", how="left")
    pool = ws.store.pool_contacts()
    addresses = _letter_addresses(ws)
    records = []
    for m in members.itertuples(index=False):
        code, contact = pool.get(str(m.participant_id), ("", {}))
        names = addresses.loc[code, list(NAME_COLUMNS)].to_dict() if code in addresses.index else {}
        records.append(
            {
                "groep": _group_number(str(m.group)),
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
    return pd.DataFrame(records, columns=columns).astype(object).fillna("")


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
    residents = _dutch(ws.store.resident_addresses())
    residents.insert(0, "deelnemer_id", [control_id(str(r)) for r in residents["resident_id"]])
    found = residents[residents["deelnemer_id"].isin(control)]
    if len(found) != len(control):
        raise KleroError(
            f"{len(control) - len(found)} of the {len(control)} control-group members are no longer in the "
            "registry extract of this workspace.",
            code="control_missing",
        )
    number = pd.to_numeric(found["huisnummer"], errors="coerce")
    ordered = found.assign(_n=number).sort_values(["postcode", "_n", "huisletter", "huisnummertoevoeging"])
    return ordered.drop(columns=["resident_id", "_n"]).reset_index(drop=True)


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
