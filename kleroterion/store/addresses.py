"""Store methods for the organiser's lists: names and addresses of letter recipients and residents,
and the sign-up details (code, contact, answers) of panel members."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from kleroterion.deferred import deferred
from kleroterion.store.core import StoreCore

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = deferred("pandas")  # `klero status` opens the store and needs no pandas

#: Name and address columns of ``addresses``, as the residents table holds them.
ADDRESS_FIELDS = (
    "resident_id",
    "given_names",
    "name_prefix",
    "surname",
    "street",
    "house_number",
    "house_letter",
    "house_suffix",
    "postcode",
    "city",
)
_SELECT = (
    "SELECT r.id, r.given_names, r.name_prefix, r.surname, r.street, r.house_number, r.house_letter,"
    " r.house_suffix, r.address_key, r.postcode, r.city"
)


def _address_record(r: Any) -> dict[str, str]:
    """One resident's name and address as text ('' when empty). Extracts imported before migration 0006
    have no huisletter or toevoeging column: they are read from the address key (upper case there)."""
    key = str(r["address_key"]).split("|")
    letter = r["house_letter"] if r["house_letter"] is not None else (key[2] if len(key) > 2 else "")
    suffix = r["house_suffix"] if r["house_suffix"] is not None else (key[3] if len(key) > 3 else "")
    values = (r["id"], r["given_names"], r["name_prefix"], r["surname"], r["street"], r["house_number"])
    return {
        **{name: "" if v is None else str(v) for name, v in zip(ADDRESS_FIELDS[:6], values, strict=True)},
        "house_letter": letter or "",
        "house_suffix": suffix or "",
        "postcode": r["postcode"] or "",
        "city": r["city"] or "",
    }


class AddressStore(StoreCore):
    def letter_recipients(self) -> pd.DataFrame:
        """Every letter's ``code`` with its recipient's name and address (``ADDRESS_FIELDS``), ordered
        by postcode, house number, huisletter and toevoeging."""
        rows = self._query(
            _SELECT + ", l.code FROM residents r JOIN letters l ON l.resident_id = r.id"
            " ORDER BY r.postcode, CAST(r.house_number AS INTEGER), r.house_letter, r.house_suffix, l.code"
        )
        return pd.DataFrame(
            [{"code": r["code"], **_address_record(r)} for r in rows], columns=["code", *ADDRESS_FIELDS]
        )

    def resident_addresses(self) -> pd.DataFrame:
        """Every resident's name and address (``ADDRESS_FIELDS``), in pseudonym order."""
        rows = self._query(_SELECT + " FROM residents r ORDER BY r.id")
        return pd.DataFrame([_address_record(r) for r in rows], columns=list(ADDRESS_FIELDS))

    def panel_member_details(self, draw_id: int) -> list[dict[str, Any]]:
        """Everyone of one draw (members, alternates, replacements, any status) with their sign-up:
        ``person_id, role, rank, status, letter_code, contact`` (dict), ``features`` (dict)."""
        rows = self._query(
            "SELECT m.person_id, m.role, m.rank, m.status, p.letter_code, p.contact, p.features"
            " FROM panel_members m JOIN pool_members p ON p.id = m.person_id WHERE m.draw_id = ?"
            " ORDER BY m.role DESC, m.rank",
            (draw_id,),
        )
        return [
            {**dict(r), "contact": json.loads(r["contact"] or "{}"), "features": json.loads(r["features"] or "{}")}
            for r in rows
        ]

    def pool_contacts(self) -> dict[str, tuple[str, dict[str, str]]]:
        """Pool id -> (invitation code, contact details kept from the sign-up)."""
        rows = self._query("SELECT id, letter_code, contact FROM pool_members")
        return {r["id"]: (r["letter_code"], json.loads(r["contact"] or "{}")) for r in rows}
