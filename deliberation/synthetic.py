"""Simulated survey answers for the shipped example (not real poll data).

Each respondent has a latent attitude per item; T2 answers of participants move by an item-specific
shift (deliberation effect) plus noise, and knowledge rises. Education raises the chance of a correct
knowledge answer. A ranking item orders its options by distance from the respondent's latent ideal
point on the axis of the options in instrument order, plus noise (smaller after deliberation, so more
rankings are single-peaked, as List et al. 2013 found). Rankings draw from a spawned generator, so
adding a ranking item leaves the other simulated answers unchanged. Returns long answers
``participant_id, wave, item_code, raw``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from deliberation.instrument import EVALUATION, RANKING_SEPARATOR, Instrument, Item

EDUCATION_KNOWLEDGE = {"laag": -0.6, "middelbaar": 0.0, "hoog": 0.6}


def simulate_wave(
    respondents: pd.DataFrame,
    instrument: Instrument,
    *,
    wave: str,
    rng: np.random.Generator,
    latent: pd.DataFrame,
    shifts: Mapping[str, float] | None = None,
    knowledge_boost: float = 0.0,
    dont_know_rate: float = 0.04,
    evaluation_mean: float | None = None,
    ranking_noise: float = 0.9,
) -> pd.DataFrame:
    """Answers of ``respondents`` (``participant_id``, ``education``) to the items at one wave.

    ``latent`` holds one column per attitude item (standard normal, indexed by participant id);
    ``shifts`` adds an item-specific change in scale points; ``knowledge_boost`` adds to the logit of a
    correct answer. Evaluation items are answered only when ``evaluation_mean`` is given: around
    that point of the scale (0 = its minimum, 1 = its maximum). ``ranking_noise`` is the spread of the
    noise on a ranking's utilities, in spacings between adjacent options.
    """
    ids = respondents["participant_id"].to_numpy()
    edu = respondents["education"].map(EDUCATION_KNOWLEDGE).fillna(0.0).to_numpy()
    frames = []
    for item in instrument.items:
        if item.is_ranking:
            sub = rng.spawn(1)[0]
            raw = _rankings(item, latent.loc[ids, item.code].to_numpy(), rng=sub, noise=ranking_noise)
            if item.dont_know:
                raw = np.where(sub.random(len(ids)) < dont_know_rate, item.dont_know[0], raw)
            frames.append(pd.DataFrame({"participant_id": ids, "wave": wave, "item_code": item.code, "raw": raw}))
            continue
        if item.section == EVALUATION:
            if evaluation_mean is None:
                continue
            low, high = float(item.scale_min or 0), float(item.scale_max or 1)
            value = low + (high - low) * evaluation_mean + rng.normal(0, (high - low) / 5, len(ids))
            raw = np.clip(np.rint(value), low, high).astype(int).astype(str)
        elif item.is_knowledge:
            options = [o for o in item.options if o != item.correct and o not in item.dont_know]
            p = 1 / (1 + np.exp(-(-0.4 + edu + knowledge_boost)))
            right = rng.random(len(ids)) < p
            wrong = rng.choice(options, size=len(ids)) if options else np.full(len(ids), "")
            raw = np.where(right, str(item.correct), wrong)
        else:
            low, high = float(item.scale_min or 0), float(item.scale_max or 1)
            mid, spread = (low + high) / 2, (high - low) / 4
            value = mid + spread * latent.loc[ids, item.code].to_numpy() + (shifts or {}).get(item.code, 0.0)
            value = value + rng.normal(0, spread * 0.35, len(ids))
            raw = np.clip(np.rint(value), low, high).astype(int).astype(str)
        if item.dont_know:
            raw = np.where(rng.random(len(ids)) < dont_know_rate, item.dont_know[0], raw)
        frames.append(pd.DataFrame({"participant_id": ids, "wave": wave, "item_code": item.code, "raw": raw}))
    return pd.concat(frames, ignore_index=True)


def _rankings(item: Item, ideal: np.ndarray, *, rng: np.random.Generator, noise: float) -> np.ndarray:
    """``b>a>c`` per respondent: options by utility ``−|position − ideal point| + noise``."""
    options = list(item.options)
    positions = np.arange(len(options), dtype=float)
    target = positions.mean() + ideal * (len(options) - 1) / 3  # standard normal -> mostly on the axis
    utility = -np.abs(positions[None, :] - target[:, None]) + rng.normal(0, noise, (len(ideal), len(options)))
    order = np.argsort(-utility, axis=1)
    return np.array([RANKING_SEPARATOR.join(options[k] for k in row) for row in order])


def latent_attitudes(ids: pd.Series, instrument: Instrument, *, rng: np.random.Generator) -> pd.DataFrame:
    """Standard-normal latent attitude per attitude item, correlated through one common factor."""
    common = rng.normal(0, 1, len(ids))
    data = {
        item.code: 0.6 * common * (1 if k % 2 == 0 else -1) + 0.8 * rng.normal(0, 1, len(ids))
        for k, item in enumerate(instrument.attitude_items)
    }
    ideal = rng.spawn(1)[0]  # ideal points of ranking items, without moving the attitude draws
    data.update({item.code: ideal.normal(0, 1, len(ids)) for item in instrument.ranking_items})
    return pd.DataFrame(data, index=ids.to_numpy())
