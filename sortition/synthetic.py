"""A realistic synthetic BRP extract and sign-up behaviour for the shipped example.

Totals come from real CBS rows (inhabitants, men, women and dwellings per wijk); everything else
(households, ages, names, addresses, education, response) is synthetic. Age and education shares
are *synthetic approximations of Dutch national shares*, not Peel en Maas figures.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

#: Synthetic approximation of Dutch national age shares (CBS StatLine 7461, 2024, rounded).
NATIONAL_AGE_SHARES = {
    (0, 15): 0.155,
    (15, 25): 0.122,
    (25, 45): 0.250,
    (45, 65): 0.268,
    (65, 80): 0.150,
    (80, 100): 0.055,
}
#: Synthetic approximation of Dutch national education shares, persons 15-75 (CBS, rounded).
NATIONAL_EDUCATION_SHARES = {"laag": 0.27, "middelbaar": 0.37, "hoog": 0.36}
#: Household-size shares of Dutch private households (CBS, rounded): 1..5 persons.
HOUSEHOLD_SIZE_SHARES = (0.30, 0.35, 0.13, 0.15, 0.07)

GIVEN_F = [
    "Anna",
    "Maria",
    "Emma",
    "Julia",
    "Sophie",
    "Lotte",
    "Fenna",
    "Sanne",
    "Lisa",
    "Eva",
    "Noor",
    "Tess",
    "Mila",
    "Iris",
    "Anouk",
    "Fleur",
    "Ingrid",
    "Els",
    "Truus",
    "Petra",
    "Monique",
    "Wilma",
    "Annie",
    "Mieke",
    "Yvonne",
    "Linda",
    "Sandra",
    "Nicole",
    "Ilse",
    "Marloes",
]
GIVEN_M = [
    "Jan",
    "Piet",
    "Kees",
    "Johan",
    "Henk",
    "Gerrit",
    "Martijn",
    "Thijs",
    "Daan",
    "Sem",
    "Lucas",
    "Levi",
    "Finn",
    "Bram",
    "Luuk",
    "Jeroen",
    "Mark",
    "Bas",
    "Koen",
    "Ruud",
    "Wim",
    "Sjaak",
    "Harrie",
    "Theo",
    "Frans",
    "Ger",
    "Rob",
    "Stijn",
    "Joep",
    "Niels",
]
SURNAMES = [
    ("", "Jansen"),
    ("", "Peeters"),
    ("van", "Dijk"),
    ("de", "Vries"),
    ("van den", "Berg"),
    ("", "Verhoeven"),
    ("", "Hendrikx"),
    ("", "Janssen"),
    ("van der", "Linden"),
    ("", "Geurts"),
    ("", "Gommans"),
    ("", "Smits"),
    ("", "Willems"),
    ("van", "Rijswick"),
    ("", "Craenmehr"),
    ("", "Hermans"),
    ("", "Theelen"),
    ("ter", "Horst"),
    ("", "Op den Kamp"),
    ("van", "Lier"),
    ("", "Bouten"),
    ("", "Kessels"),
    ("de", "Wit"),
    ("van", "Bree"),
    ("", "Seelen"),
    ("", "Engels"),
    ("", "Maessen"),
    ("van", "Nieuwenhoven"),
    ("", "Steeghs"),
    ("", "Vullings"),
]
STREETS = [
    "Kerkstraat",
    "Molenstraat",
    "Dorpsstraat",
    "Schoolstraat",
    "Pastoor Vullinghsplein",
    "Maasstraat",
    "Stationsweg",
    "Raadhuisstraat",
    "Beatrixstraat",
    "Julianastraat",
    "Kapelstraat",
    "Heldenseweg",
    "Peelstraat",
    "Rector Thissenstraat",
    "Parallelweg",
    "Baarskampweg",
    "Mgr. Nolensplein",
    "Kessels Veld",
    "Eikendreef",
    "Berkenlaan",
    "Lindelaan",
    "Wilhelminastraat",
    "Zandberg",
    "Hoogstraat",
    "Meerlebroek",
]
#: Synthetic wijk -> (postcode number, woonplaats) for the example; not an official table.
WIJK_PLACES = {
    "WK189401": (5981, "Panningen"),
    "WK189402": (5986, "Beringe"),
    "WK189403": (5988, "Helden"),
    "WK189404": (5991, "Baarlo"),
    "WK189405": (5993, "Maasbree"),
    "WK189406": (5984, "Koningslust"),
    "WK189407": (5987, "Egchel"),
    "WK189408": (5768, "Meijel"),
    "WK189409": (5995, "Kessel-Eik"),
    "WK189410": (5985, "Grashoek"),
    "WK189411": (5995, "Kessel"),
}


def allocate_to_total(rounded: pd.Series, total: int) -> pd.Series:
    """Shift CBS counts (rounded to 5) so they add up to ``total``, one unit at a time, largest first."""
    counts = rounded.astype(int).copy()
    gap = total - int(counts.sum())
    order = counts.sort_values(ascending=False).index
    i = 0
    while gap != 0:
        step = 1 if gap > 0 else -1
        counts[order[i % len(order)]] += step
        gap -= step
        i += 1
    return counts


def _sample_ages(rng: np.random.Generator, size: int, low: int, high: int) -> np.ndarray:
    bands = [(a, b, s) for (a, b), s in NATIONAL_AGE_SHARES.items() if b > low and a < high]
    weights = np.array([s * (min(b, high) - max(a, low)) / (b - a) for a, b, s in bands])
    picks = rng.choice(len(bands), size=size, p=weights / weights.sum())
    lows = np.array([max(a, low) for a, _, _ in bands])[picks]
    highs = np.array([min(b, high) for _, b, _ in bands])[picks]
    return rng.integers(lows, highs)


def _household_ages(rng: np.random.Generator, size: int) -> list[int]:
    if size == 1:
        return [int(_sample_ages(rng, 1, 18, 100)[0])]
    first = int(_sample_ages(rng, 1, 20, 95)[0])
    partner = int(np.clip(first + rng.normal(0, 3), 18, 99))
    ages = [first, partner]
    for _ in range(size - 2):
        child = first - int(rng.integers(22, 40))
        ages.append(max(0, child))
    return ages


def _education(rng: np.random.Generator, age: int) -> str:
    # older residents are less often highly educated; shares average to the national ones
    shift = np.clip((age - 45) / 40, -0.5, 0.8)
    p = np.array(
        [
            NATIONAL_EDUCATION_SHARES["laag"] + 0.12 * shift,
            NATIONAL_EDUCATION_SHARES["middelbaar"],
            NATIONAL_EDUCATION_SHARES["hoog"] - 0.12 * shift,
        ]
    )
    p = p / p.sum()
    return str(rng.choice(["laag", "middelbaar", "hoog"], p=p))


def generate_registry(
    wijken: pd.DataFrame, *, total: int, men: int, rng: np.random.Generator, reference_date: date
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generate a BRP-like extract for one municipality.

    ``wijken`` has one row per wijk with ``regiocode``, ``AantalInwoners``, ``Mannen``. Residents per
    wijk are the CBS counts shifted to add up to ``total`` (CBS rounds wijk counts to 5); men per wijk
    likewise add up to ``men``. Returns (extract with BRP column names, hidden traits ``bsn, education``
    used only to simulate sign-ups).
    """
    inhabitants = allocate_to_total(wijken.set_index("regiocode")["AantalInwoners"], total)
    men_per_wijk = allocate_to_total(wijken.set_index("regiocode")["Mannen"], men)
    records = []
    next_bsn = 100000000
    for wijk, count in inhabitants.items():
        pc_number, place = WIJK_PLACES.get(str(wijk), (5980, "Peel en Maas"))
        ages: list[int] = []
        households: list[int] = []
        hh = 0
        while len(ages) < count:
            size = min(int(rng.choice(5, p=HOUSEHOLD_SIZE_SHARES)) + 1, count - len(ages))
            ages.extend(_household_ages(rng, size))
            households.extend([hh] * size)
            hh += 1
        genders = np.array(["V"] * count, dtype=object)
        genders[rng.choice(count, size=int(men_per_wijk[wijk]), replace=False)] = "M"
        n_households = max(households) + 1
        streets = rng.choice(STREETS, size=n_households)
        numbers = rng.integers(1, 160, size=n_households)
        letters = np.where(rng.random(n_households) < 0.05, rng.choice(list("ABC"), size=n_households), "")
        suffixes = np.arange(n_households)  # distinct addresses: a synthetic postcode letter pair per household
        surname_idx = rng.integers(0, len(SURNAMES), size=n_households)
        for person, (age, hh) in enumerate(zip(ages, households, strict=True)):
            gender = genders[person]
            given = rng.choice(GIVEN_M if gender == "M" else GIVEN_F)
            extra = " " + rng.choice(GIVEN_M if gender == "M" else GIVEN_F) if rng.random() < 0.4 else ""
            prefix, surname = SURNAMES[surname_idx[hh]]
            born = reference_date - timedelta(days=int(age * 365.25 + rng.integers(0, 365)))
            pair = suffixes[hh]
            postcode = f"{pc_number} {chr(65 + (pair // 26) % 26)}{chr(65 + pair % 26)}"
            next_bsn += 1
            records.append(
                {
                    "bsn": f"{next_bsn:09d}",
                    "voornamen": given + extra,
                    "voorvoegsel": prefix,
                    "geslachtsnaam": surname,
                    "geboortedatum": born.strftime("%Y%m%d"),
                    "geslacht": gender,
                    "straatnaam": streets[hh],
                    "huisnummer": int(numbers[hh]) + (pair // 676) * 200,
                    "huisletter": letters[hh],
                    "huisnummertoevoeging": "",
                    "postcode": postcode,
                    "woonplaats": place,
                    "wijkcode": wijk,
                    "geheimhouding": "J" if rng.random() < 0.002 else "N",
                    "_age": age,
                }
            )
    frame = pd.DataFrame.from_records(records)
    traits = pd.DataFrame(
        {"bsn": frame["bsn"], "education": [_education(rng, a) if a >= 15 else "" for a in frame["_age"]]}
    )
    return frame.drop(columns="_age"), traits


#: Relative willingness to sign up (synthetic, after practitioner experience: young and
#: lower-educated residents respond less). Multiplies a base rate.
RESPONSE_FACTORS = {
    "age_band": {"16-24": 0.45, "25-39": 0.8, "40-54": 1.0, "55-69": 1.3, "70+": 0.9},
    "education": {"laag": 0.5, "middelbaar": 0.9, "hoog": 1.6},
}


def simulate_signups(invitees: pd.DataFrame, *, rng: np.random.Generator, base_rate: float = 0.075) -> pd.Series:
    """True for each invitee who signs up; ``invitees`` has ``age_band`` and ``education`` columns."""
    rate = pd.Series(base_rate, index=invitees.index)
    for column, factors in RESPONSE_FACTORS.items():
        rate = rate * invitees[column].map(factors).astype(float).fillna(1.0)
    return pd.Series(rng.random(len(invitees)) < rate.clip(upper=0.95).to_numpy(), index=invitees.index)
