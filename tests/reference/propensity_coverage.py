"""Coverage of the sign-up model's 95 % intervals over seeds 0-9 (the figure quoted in test_propensity.py).

Run ``PYTHONPATH=. .venv/bin/python tests/reference/propensity_coverage.py`` (about 30 s); printed 75 of 80
group intervals holding the true end-to-end chance (93.75 %).
"""

from __future__ import annotations

import numpy as np

from sortition.propensity import end_to_end_by_group, fit_signup_model, signup_probabilities
from tests.sortition.test_propensity import EDUCATION_SHARES, simulated_invitees

tot = 0
ins = 0
allin = 0
for seed in range(10):
    inv = simulated_invitees(20_000, seed=seed)
    model = fit_signup_model(
        inv,
        features=["age_band", "gender", "wijk"],
        calibrate={"reported_education": EDUCATION_SHARES},
        rng=np.random.default_rng(seed + 100),
        bootstrap=200,
    )
    pool = inv[inv["signed_up"]].reset_index(drop=True)
    pt, dr = signup_probabilities(model, pool)
    kw = {
        "groups": ["age_band", "education"],
        "letter_probability": np.full(len(pool), 0.1),
        "selection_probability": np.full(len(pool), 30 / len(pool)),
    }
    est = end_to_end_by_group(pool, signup=pt, signup_replicates=dr, **kw)
    tr = pool["true_signup"].to_numpy()
    true = end_to_end_by_group(pool, signup=tr, signup_replicates=tr[None, :], **kw)
    inside = (est["ci_low"] <= true["end_to_end"]) & (true["end_to_end"] <= est["ci_high"])
    tot += len(inside)
    ins += inside.sum()
    allin += inside.all()
    print(seed, inside.sum(), len(inside), flush=True)
print("coverage", ins / tot, "all-in seeds", allin)
