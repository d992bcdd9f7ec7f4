"""Column generation over feasible panels with HiGHS: the panel space, the pricing ILP and the master LP.

A pool is aggregated into *types*: people with the same value in every quota category who share their
address with nobody else are interchangeable, so a panel is described by its *composition* ``c`` (how
many people of each type it contains) and person ``i`` of type ``t`` is on a uniformly chosen panel of
that composition with probability ``c_t / n_t``. People who share an address are each their own type.
Every objective here (leximin, maximin, Nash, Goldilocks) is symmetric in interchangeable people and
has a symmetric optimum, so optimising over compositions loses nothing (Flanigan et al., Nature 2021,
Methods: "the column generation ... over committees"; the type reduction is ours).

One HiGHS model is kept for the pricing ILP (only its objective changes between calls) and one for the
master LP (columns are appended and row bounds changed; the simplex warm-starts from the last basis).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import highspy
import numpy as np

from sortition import smalllp
from sortition.errors import KleroError

INF = highspy.kHighsInf
PRICE_EPS = 1e-9  # a column improves the master LP if its reduced cost is below -PRICE_EPS
LP_TOLERANCE = 1e-10
INTEGRAL_TOLERANCE = 1e-9  # an LP vertex this close to integers is an integral composition (``PanelOracle``)
FIX_EPS = 1e-7  # a type whose dual weight exceeds this is held at the current level
FIX_SLACK = 1e-9  # fixed probabilities are held to within this, so later levels stay feasible
UNIFORM_TOLERANCE = 1e-10  # a level this close to k/n certifies the uniform optimum (``uniform_level``)
STALL_PIVOTS = 10  # a warm master solve taking more than this many pivots per row restarts by interior point
IPM_ROWS = 300  # first master solve by interior point + crossover from this many rows (``MasterLP.solve``)
CENTRE_WEIGHT = 0.5  # pricing centre: weight of the running dual average against the new duals
ROWS_PER_PERTURBED = 16  # per round, one panel at perturbed duals per this many master rows
MAX_PERTURBED = 32  # and at most this many (climate n = 4,000, 1,255 rows: 78 -> 32 a round, 80 -> ~55 s; §15)
PERTURB_SIGMA = 0.2  # their perturbation: each type's dual weight times exp(σ·N(0, 1))
# under exact quotas a smaller one: tight n = 360 (seeds 0/1/2) leximin 8.1/9.5/11.0 -> 5.4/9.1/8.8 s, maximin
# 5.4/1.2/3.2 -> 3.4/-/3.1 s; on the climate pool (quotas with ranges) 0.1 instead of 0.2 cost 24 -> 32 master
# solves (bench notes §16)
PERTURB_SIGMA_EXACT = 0.07
# at the first level (maximin, leximin's first) of a pool with ranges a much larger one: every type is free
# there and panels far from the current duals' vertex pay off. Climate n = 4,000 maximin: σ 0.2 / 0.5 / 1.0 / 2.0
# -> 24 / 15 / 11 / 10 master solves, 74 -> 43 s CPU; skewed n = 1,000 leximin unchanged (its first level ends at
# once), where σ 1.0 at every level cost 58 -> 90 master solves (bench notes §16)
PERTURB_SIGMA_FIRST = 1.0
RESCUE_DIVES = 16  # dives at slightly perturbed weights before the exact ILP prices a round
RESCUE_SIGMA = 0.05  # their perturbation
DIVE_SOLVES = 120  # a dive fixes about one type per LP solve; it gives up after this many solves
DIVE_PIVOTS = 40  # a compiled dive (``sortition.smalllp``) may take this many pivots per row and type
#: the exact ILP prices a round only when no heuristic panel (swap search, dive) improves; it always
#: has the last word, so each optimum still ends on an exact certificate (bench notes §13)
SKIP_EXACT = True
MWU_FACTOR = 0.8  # covering rounds: weight kept by a type that got its fair share k/n on the last panel


@dataclass(frozen=True)
class PanelSpace:
    """The feasible panels of a pool, over types.

    ``counts[t]`` people of type ``t``; ``membership[f, t]`` is 1 when type ``t`` has feature ``f``;
    a composition ``c`` (integers ``0 ≤ c_t ≤ counts[t]``) is feasible when ``Σ c = size``,
    ``feature_min ≤ membership @ c ≤ feature_max`` and ``Σ_{t∈h} c_t ≤ 1`` for every household ``h``.
    """

    size: int
    counts: np.ndarray
    membership: np.ndarray
    feature_min: np.ndarray
    feature_max: np.ndarray
    feature_labels: tuple[str, ...]
    households: tuple[tuple[int, ...], ...]

    @property
    def n_types(self) -> int:
        return len(self.counts)

    @property
    def exact_quotas(self) -> bool:
        """Whether every quota is exact (min = max): then no one-for-one swap keeps a panel feasible."""
        return bool(np.all(self.feature_min == self.feature_max))

    def shares(self, composition: np.ndarray) -> np.ndarray:
        """Per-person selection share ``c_t / n_t`` of each type on a panel of this composition."""
        return composition / self.counts

    def rows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The constraints as dense rows over the counts: ``Σ c = size``, each feature's quota, each household
        (``≤ 1``), with their lower and upper bounds (``-inf``: none)."""
        households = np.zeros((len(self.households), self.n_types))
        for h, house in enumerate(self.households):
            households[h, list(house)] = 1.0
        rows = np.ascontiguousarray(np.vstack([np.ones(self.n_types), self.membership, households]))
        lower = np.concatenate([[self.size], self.feature_min, np.full(len(self.households), -np.inf)])
        upper = np.concatenate([[self.size], self.feature_max, np.ones(len(self.households))])
        return rows, lower, upper


def _new_highs() -> highspy.Highs:
    # HiGHS keeps one task scheduler per process, sized by the first model that runs. A model that asks
    # for another thread count afterwards (ours: 1, after sortition-algorithms ran with the default) is
    # refused with an unset status; resetting the scheduler lets each model start with its own count.
    highspy.Highs.resetGlobalScheduler(True)
    model = highspy.Highs()
    model.setOptionValue("output_flag", False)
    model.setOptionValue("threads", 1)
    model.setOptionValue("random_seed", 0)
    return model


def _ints(values: Sequence[int] | np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.int32)


def panel_model(space: PanelSpace, *, integral: bool) -> highspy.Highs:
    """HiGHS model ``max Σ_t w_t c_t`` over the quota polytope (``w`` set by ``changeColsCost``).

    Columns ``0..n_types-1`` are the counts ``c_t``; row 0 is ``Σ c = size``, row ``1 + f`` the quota of
    feature ``f``, then one row per household."""
    model = _new_highs()
    n_types = space.n_types
    for t in range(n_types):
        model.addCol(0.0, 0.0, float(space.counts[t]), 0, _ints([]), np.array([]))
    if integral:
        model.changeColsIntegrality(n_types, _ints(range(n_types)), np.ones(n_types, dtype=np.uint8))
    every = _ints(range(n_types))
    model.addRow(float(space.size), float(space.size), n_types, every, np.ones(n_types))
    for f in range(len(space.feature_labels)):
        cols = _ints(np.flatnonzero(space.membership[f]))
        model.addRow(float(space.feature_min[f]), float(space.feature_max[f]), len(cols), cols, np.ones(len(cols)))
    for house in space.households:
        model.addRow(-INF, 1.0, len(house), _ints(house), np.ones(len(house)))
    model.changeObjectiveSense(highspy.ObjSense.kMaximize)
    # Presolve on every call cost more than it saved: the models are small, and only the objective
    # changes (skewed pool n = 500: 15.2 -> 11.4 s of ILP time; bench notes §11).
    model.setOptionValue("presolve", "off")
    return model


class PanelOracle:
    """The pricing ILP ``max Σ_t w_t c_t`` over feasible compositions.

    Three HiGHS models are kept: the ILP, its LP relaxation (only their objectives change between
    calls) and a copy of the relaxation for ``dive``. The relaxation is solved first (warm-started simplex,
    about 1 ms against 12-30 ms for the ILP on a pool of 300 types); when its optimal vertex is integral it is the ILP's
    optimum too (the relaxation's feasible set contains every composition), and the ILP is solved only otherwise. The
    vertex was integral for 19 of 30 random weight vectors, and for about a third of the calls in a
    leximin run on the skewed bench pool (bench notes §11).
    """

    def __init__(self, space: PanelSpace) -> None:
        self.space = space
        self._types = _ints(range(space.n_types))
        self._model = panel_model(space, integral=True)
        self._model.setOptionValue("mip_rel_gap", 0.0)
        self._model.setOptionValue("mip_abs_gap", 1e-12)
        self._relaxation = panel_model(space, integral=False)
        self._relaxation.setOptionValue("primal_feasibility_tolerance", LP_TOLERANCE)
        self._relaxation.setOptionValue("dual_feasibility_tolerance", LP_TOLERANCE)
        self._relaxation.setOptionValue("simplex_strategy", 4)  # a cost change keeps the basis primal feasible
        self._diver = panel_model(space, integral=False)
        self._diver.setOptionValue("primal_feasibility_tolerance", LP_TOLERANCE)
        self._diver.setOptionValue("dual_feasibility_tolerance", LP_TOLERANCE)
        self._lower = np.zeros(space.n_types)
        self._upper = np.asarray(space.counts, dtype=float)
        # the same polytope as dense rows for the compiled dive: Σ c, the features, the households
        self._rows, self._row_lower, self._row_upper = space.rows()
        self._pivot_budget = DIVE_PIVOTS * (len(self._rows) + space.n_types)
        self.calls = 0
        self.ilp_calls = 0
        self.dives = 0

    def best(self, weights: np.ndarray, *, start: np.ndarray | None = None) -> tuple[np.ndarray, float]:
        """Composition maximising ``Σ_t weights[t]·c_t`` and that maximum.

        ``start`` (a feasible composition, e.g. a heuristic's panel for these weights) is given to the ILP
        as its first incumbent: on tight pools HiGHS spent most of each ILP finding good feasible panels,
        and a near-optimal start made it ~3x faster (bench notes §13).
        Raises ``KleroError`` (code ``no_panel``) when no composition is feasible; callers that need a
        diagnosis call ``sortition.engine.diagnose_infeasibility``.
        """
        self.calls += 1
        weights = np.asarray(weights, dtype=float)
        composition = self.integral_vertex(weights)
        if composition is None:
            composition = self._solve_ilp(weights, start)
        return composition, float(np.dot(weights, composition))

    def good(self, weights: np.ndarray, *, retry: bool = False) -> np.ndarray | None:
        """A good feasible composition for ``weights`` without the ILP: a ``dive``'s panel, which is the
        relaxation's vertex when that is integral (then optimal); ``None`` when the dive fails.

        ``retry``: when the compiled dive runs into a dead end, dive again through HiGHS, whose relaxation
        often ends on another vertex (~8 ms, where a failed heuristic costs the caller an ILP of ~0.3 s)."""
        composition = self.dive(weights)
        if composition is None and retry:
            composition = self._highs_dive(np.asarray(weights, dtype=float))
        return composition

    def dive(self, weights: np.ndarray, *, max_solves: int = DIVE_SOLVES) -> np.ndarray | None:
        """A feasible composition, good for ``weights``, by diving in the LP relaxation (or ``None``).

        Solve the relaxation; while its vertex is fractional, force one more person of the fractional type
        with the largest fractional part onto the panel (its lower bound to the value rounded up) and solve
        again; when that makes the LP infeasible, bar the type instead (upper bound rounded down). A
        heuristic, not a certificate: on a tight pool its panel reached a median 96 % of the ILP's optimum,
        where the ILP took 0.25-0.4 s (bench notes §13). The dive runs compiled (``sortition.smalllp``,
        ~1.2 ms against ~8.6 ms through HiGHS on the tight pool; §15); its panel is checked exactly, and
        when the compiled dive gives up (pivot budget) or its panel fails the check, HiGHS dives instead.
        """
        self.dives += 1
        weights = np.asarray(weights, dtype=float)
        status, values = smalllp.dive(
            self._rows, self._row_lower, self._row_upper, self._upper, weights, max_solves, self._pivot_budget
        )
        if status == smalllp.INFEASIBLE:
            return None
        if status == smalllp.OPTIMAL and self.feasible(values):
            return values
        return self._highs_dive(weights, max_solves=max_solves)

    def feasible(self, composition: np.ndarray) -> bool:
        """Whether an integer composition meets the counts, the quotas and the one-per-address rule (exact)."""
        composition = np.asarray(composition, dtype=np.int64)
        if (composition < 0).any() or (composition > self._upper).any():
            return False
        activity = self._rows @ composition  # 0/1 rows times integers: exact in floating point
        return bool((activity >= self._row_lower - 0.5).all() and (activity <= self._row_upper + 0.5).all())

    def _highs_dive(self, weights: np.ndarray, *, max_solves: int = DIVE_SOLVES) -> np.ndarray | None:
        """``dive`` through HiGHS (the fallback of the compiled dive)."""
        model, n_types = self._diver, self.space.n_types
        model.changeColsCost(n_types, self._types, np.asarray(weights, dtype=float))
        lower, upper = self._lower.copy(), self._upper.copy()
        undo: tuple[int, float] | None = None
        composition = None
        for _ in range(max_solves):
            model.changeColsBounds(n_types, self._types, lower, upper)
            model.run()
            if model.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                if undo is None:
                    break
                j, previous = undo
                lower[j], upper[j], undo = previous, lower[j] - 1.0, None
                continue
            values = np.asarray(model.getSolution().col_value)
            fraction = values - np.floor(values + INTEGRAL_TOLERANCE)
            fractional = np.flatnonzero(fraction > INTEGRAL_TOLERANCE)
            if not len(fractional):
                composition = np.rint(values).astype(np.int64)
                break
            j = int(fractional[np.argmax(fraction[fractional])])
            undo = (j, float(lower[j]))
            lower[j] = np.ceil(values[j])
        model.changeColsBounds(n_types, self._types, self._lower, self._upper)
        return composition

    def integral_vertex(self, weights: np.ndarray) -> np.ndarray | None:
        """The LP relaxation's optimal vertex when it is integral (then optimal for the ILP), else ``None``."""
        model = self._relaxation
        model.changeColsCost(self.space.n_types, self._types, weights)
        model.run()
        if model.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None  # infeasible or unsolved: the ILP decides and reports
        values = np.asarray(model.getSolution().col_value)
        composition = np.rint(values)
        if np.abs(values - composition).max() > INTEGRAL_TOLERANCE:
            return None
        return composition.astype(np.int64)

    def _solve_ilp(self, weights: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
        self.ilp_calls += 1
        self._model.changeColsCost(self.space.n_types, self._types, weights)
        if start is not None:
            solution = highspy.HighsSolution()
            solution.col_value = np.asarray(start, dtype=float).tolist()
            solution.value_valid = True
            self._model.setSolution(solution)
        self._model.run()
        status = self._model.getModelStatus()
        if status == highspy.HighsModelStatus.kInfeasible:
            raise KleroError("No panel meets the quotas.", code="no_panel")
        if status != highspy.HighsModelStatus.kOptimal:
            raise KleroError(f"The panel ILP could not be solved (HiGHS status {status}).", code="solver_failed")
        return np.rint(np.asarray(self._model.getSolution().col_value)).astype(np.int64)


class MasterLP:
    """Restricted master LP ``min Σ_j cost_j x_j`` over panel columns plus a few extra variables.

    Rows: for each type ``t`` one or more *type rows* whose panel coefficient is ``c_t/n_t`` (that
    type's per-person probability on the panel), and the row ``Σ_P λ_P = 1``. HiGHS reports row duals
    ``y`` with reduced costs ``d = cost - Aᵀy``, so a panel ``P`` improves the LP exactly when
    ``Σ_t (Σ_{rows r of t} y_r)·c_t/n_t + y_sum > 0``: the pricing problem is the panel ILP with
    weights ``(Σ_r y_r)/n_t``.
    """

    def __init__(self, space: PanelSpace) -> None:
        self.space = space
        self.model = _new_highs()
        self.model.setOptionValue("primal_feasibility_tolerance", LP_TOLERANCE)
        self.model.setOptionValue("dual_feasibility_tolerance", LP_TOLERANCE)
        # New columns keep the basis primal feasible: the primal simplex re-solves from it in a few
        # pivots, while presolve would discard the warm start on every call.
        self.model.setOptionValue("presolve", "off")
        self.model.setOptionValue("simplex_strategy", 4)
        self.type_rows: list[list[int]] = [[] for _ in range(space.n_types)]
        self.compositions: list[np.ndarray] = []
        self.panel_cols: list[int] = []
        self.known: set[bytes] = set()  # the compositions that are columns
        self.n_rows = 0
        self.n_cols = 0
        self.sum_row = self.add_row(1.0, 1.0)

    def add_variable(self, cost: float, lower: float, upper: float) -> int:
        """Add a non-panel variable (e.g. the level ``z``); returns its column index."""
        self.model.addCol(cost, lower, upper, 0, _ints([]), np.array([]))
        self.n_cols += 1
        return self.n_cols - 1

    def add_row(self, lower: float, upper: float, *, type_index: int | None = None) -> int:
        """Add an empty row; a type row gets the type's coefficient in every panel column."""
        self.model.addRow(lower, upper, 0, _ints([]), np.array([]))
        row = self.n_rows
        self.n_rows += 1
        if type_index is not None:
            self.type_rows[type_index].append(row)
            for col, composition in self._panel_columns():
                if composition[type_index]:
                    share = composition[type_index] / self.space.counts[type_index]
                    self.model.changeCoeff(row, col, float(share))
        return row

    def _panel_columns(self) -> list[tuple[int, np.ndarray]]:
        return [(self.panel_cols[j], c) for j, c in enumerate(self.compositions)]

    def add_panel(self, composition: np.ndarray) -> bool:
        """Append a panel column (``False`` if this composition is already a column)."""
        key = np.asarray(composition, dtype=np.int64).tobytes()
        if key in self.known:
            return False
        self.known.add(key)
        shares = self.space.shares(composition)
        rows, values = [self.sum_row], [1.0]
        for t in np.flatnonzero(composition):
            for row in self.type_rows[t]:
                rows.append(row)
                values.append(float(shares[t]))
        self.model.addCol(0.0, 0.0, INF, len(rows), _ints(rows), np.asarray(values))
        self.panel_cols.append(self.n_cols)
        self.n_cols += 1
        self.compositions.append(np.asarray(composition, dtype=np.int64))
        return True

    def solve(self) -> None:
        """Solve (warm-started simplex); raise ``KleroError`` unless optimal.

        On a degenerate master the warm-started simplex can end with status ``kUnknown`` (found by
        Hypothesis on an 8-person pool); the LP is then solved again from scratch (cold start, default
        strategy) before giving up.

        A large master without a basis yet (the first solve on a pool of hundreds of types) is solved
        by the interior point method with crossover to a basis: HiGHS's LU factorisation is slow on the
        dense bases of these LPs (one refactorisation of a 1,065-row basis took 5 s), and the interior
        point method needs far fewer of them (diverse pool n = 4000: 25 s against 48-60 s for the
        primal simplex). Later solves warm-start the simplex from that basis."""
        if not self.model.getBasis().valid and self.n_rows >= IPM_ROWS:
            self._solve_ipm()
        else:
            self.model.setOptionValue("simplex_iteration_limit", STALL_PIVOTS * self.n_rows)
            self.model.run()
            self.model.setOptionValue("simplex_iteration_limit", 2**31 - 1)
            if self.model.getModelStatus() == highspy.HighsModelStatus.kIterationLimit:
                # A stalled warm start (tight pool leximin: one solve of 49,023 degenerate pivots, 19 s, where
                # the others took 20-500): start again from scratch by interior point and crossover. Going on
                # by the dual simplex instead took longer (bench notes §15).
                self.model.clearSolver()
                self._solve_ipm()
        status = self.model.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            self.model.clearSolver()
            self.model.setOptionValue("simplex_strategy", 1)  # dual simplex, serial
            self.model.run()
            self.model.setOptionValue("simplex_strategy", 4)
            status = self.model.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise KleroError(f"The selection LP could not be solved (HiGHS status {status}).", code="lp_failed")

    def _solve_ipm(self) -> None:
        self.model.setOptionValue("solver", "ipx")
        self.model.setOptionValue("run_crossover", "on")
        self.model.run()
        self.model.setOptionValue("solver", "simplex")

    def objective(self) -> float:
        return float(self.model.getInfo().objective_function_value)

    def values(self) -> np.ndarray:
        return np.asarray(self.model.getSolution().col_value)

    def panel_weights(self) -> np.ndarray:
        """``λ_P`` of the panel columns, clipped at 0 and renormalised to sum to 1."""
        weights = np.clip(self.values()[self.panel_cols], 0.0, None)
        return weights / weights.sum()

    def pricing_weights(self) -> tuple[np.ndarray, float]:
        """Pricing weights per type (``Σ_r y_r / n_t``) and the threshold ``-y_sum`` a panel must beat."""
        duals = np.asarray(self.model.getSolution().row_dual)
        rows, types = self._type_row_index()
        per_type = np.bincount(types, weights=duals[rows], minlength=self.space.n_types)
        return per_type / self.space.counts, -float(duals[self.sum_row])

    def _type_row_index(self) -> tuple[np.ndarray, np.ndarray]:
        """All type rows and the type of each, as flat arrays (for summing duals per type)."""
        rows = [row for type_rows in self.type_rows for row in type_rows]
        types = [t for t, type_rows in enumerate(self.type_rows) for _ in type_rows]
        return np.asarray(rows, dtype=np.int64), np.asarray(types, dtype=np.int64)

    def row_duals(self) -> np.ndarray:
        return np.asarray(self.model.getSolution().row_dual)

    def probabilities(self) -> np.ndarray:
        """Per-person probability of each type, ``π_t = Σ_P λ_P c_t(P)/n_t``, from the current solution."""
        weights = self.panel_weights()
        matrix = np.array(self.compositions, dtype=float) / self.space.counts
        return weights @ matrix


def generate_columns(
    master: MasterLP,
    oracle: PanelOracle,
    search: SwapSearch | None = None,
    *,
    max_rounds: int = 100_000,
    reached: Callable[[], bool] | None = None,
    on_round: Callable[[], None] | None = None,
    first: bool = False,
) -> int:
    """Column generation: solve the master, price, add improving panels; stop when none improves.

    Pricing adds the panels of the cheap swap search from the best known panels (several new columns
    per round) and a dive's panel (``PanelOracle.good``); the exact ILP's best panel only when none of
    those improves (``SKIP_EXACT``): on tight pools the ILP cost 0.25-0.4 s a call against ~9 ms a dive
    (tight n = 360 maximin: 130 -> 3 ILPs, 51 s -> 6 s CPU; bench notes §13). The loop therefore always ends on an
    exact certificate: no feasible panel has negative reduced cost (up to ``PRICE_EPS``), so the restricted optimum
    is the optimum over all panels, or ``reached()`` says the master's value equals
    a known bound on the optimum (see ``uniform_level``). Returns the number of panels added.

    Each round that found an improving panel also prices at a *centre*: the running average
    ``ȳ ← α·ȳ + (1-α)·y`` of the duals (α = ``CENTRE_WEIGHT``). Simplex duals jump between vertices
    from round to round, and the panels best for one vertex are rarely in the optimal support: the
    column generation tails off. Panels best for the average, added beside the exact ones, steady it
    (the smoothing of Wentges 1997, here adding panels rather than replacing the pricing point, so the
    exact pricing and its certificate are unchanged). Skewed n = 500 leximin: 165 -> 94 master solves,
    72 s -> 41 s (bench notes §10).

    Each such round also adds panels optimal for random perturbations of ``y``
    (``_perturbed_panels``), drawn from a generator seeded here, so a run is reproducible.

    ``on_round`` is called before each round (progress and the cancel check, ``sortition.progress``);
    ``first`` says the master is a first level (every type free), which widens those perturbations.
    """
    added = 0
    centre: np.ndarray | None = None
    rng = np.random.default_rng(0)
    for _ in range(max_rounds):
        if on_round is not None:
            on_round()
        master.solve()
        if reached is not None and reached():
            return added
        weights, threshold = master.pricing_weights()
        bar = threshold + _price_slack(threshold)
        found = []
        if search is not None:
            found = [c for c in search.improving(master.compositions, weights, bar) if master.add_panel(c)]
        # The exact ILP prices every round, beside the swap search: its panel is the most improving one,
        # and on a skewed pool of 300 (217 types, 16 leximin levels) adding it cut the master solves from
        # 220 to 63 (bench notes §9 g). With no improving panel at all the restricted optimum is optimal.
        heuristic = oracle.good(weights, retry=True)
        if heuristic is not None and float(heuristic @ weights) > bar and master.add_panel(heuristic):
            found.append(heuristic)
        if not found and SKIP_EXACT:
            rescued = rescue_panel(oracle, weights, bar, rng, master.known)
            if rescued is not None and master.add_panel(rescued):
                found, heuristic = [rescued], rescued
        if not found or not SKIP_EXACT:
            composition, value = oracle.best(weights, start=heuristic)
            if value > bar and master.add_panel(composition):
                found.append(composition)
        if not found:
            return added  # optimal, or numerically converged: the best panel is already a column
        centre = weights if centre is None else CENTRE_WEIGHT * centre + (1.0 - CENTRE_WEIGHT) * weights
        found.extend(_centre_panels(master, oracle, search, centre))
        found.extend(
            _perturbed_panels(
                master, oracle, weights, rng, min(master.n_rows // ROWS_PER_PERTURBED, MAX_PERTURBED), first=first
            )
        )
        added += len(found)
    raise KleroError("Column generation did not converge.", code="no_convergence")


def rescue_panel(
    oracle: PanelOracle, weights: np.ndarray, bar: float, rng: np.random.Generator, known: set[bytes]
) -> np.ndarray | None:
    """A new panel worth more than ``bar`` from dives at slightly perturbed weights, tried before the exact ILP.

    A dive that misses the improving panel is often one rounding away from it; ``RESCUE_DIVES`` dives at
    ``weights·exp(σ·N(0, 1))`` (σ = ``RESCUE_SIGMA``) cost ~20 ms against ~0.3 s for an ILP on the tight
    pool, and the round that proves optimality pays them once (bench notes §15). The first success is returned.
    """
    for _ in range(RESCUE_DIVES):
        composition = oracle.good(weights * np.exp(RESCUE_SIGMA * rng.standard_normal(len(weights))))
        if composition is not None and float(composition @ weights) > bar and composition.tobytes() not in known:
            return composition
    return None


def _price_slack(threshold: float) -> float:
    """How far a panel's value must clear the pricing threshold to count (``PRICE_EPS``, relative above 1)."""
    return PRICE_EPS * max(1.0, abs(threshold))


def _centre_panels(
    master: MasterLP, oracle: PanelOracle, search: SwapSearch | None, centre: np.ndarray
) -> list[np.ndarray]:
    """The new panels best for the centre weights: the exact ILP's and the swap search's local optima."""
    found = []
    if search is not None:
        found = [c for c in search.improving(master.compositions, centre, -INF) if master.add_panel(c)]
    composition = oracle.good(centre)
    if composition is not None and master.add_panel(composition):
        found.append(composition)
    return found


def _perturbed_panels(
    master: MasterLP,
    oracle: PanelOracle,
    weights: np.ndarray,
    rng: np.random.Generator,
    count: int,
    *,
    first: bool = False,
) -> list[np.ndarray]:
    """Up to ``count`` new panels that are optimal for randomly perturbed dual weights.

    Each type's weight is multiplied by ``exp(σ·N(0, 1))`` (σ = ``PERTURB_SIGMA``; ``PERTURB_SIGMA_EXACT``
    when every quota is exact, else ``PERTURB_SIGMA_FIRST`` at the ``first`` level; multiplicative, so zero
    weights stay zero), and the panel is the relaxation's vertex when integral, else a dive's
    (``PanelOracle.good``; until session 7 fractional vertices were skipped, and on tight pools 97 % were
    fractional: 14,000 LP solves for 450 panels; bench notes §13). Why: the master's duals are one vertex of a
    large optimal face, and the panels best for that vertex alone raised the master's level slowly. On the skewed
    bench pool the level rose by about 1e-4 per round while the Lagrangian bound stayed far above it until the last
    round (bench notes §11). Panels optimal for weights near ``y`` are the ones later optima use.
    Skewed n = 500 leximin (with the relaxation pricing): 104 -> 45 master solves, 34 s -> 17 s.
    """
    found: list[np.ndarray] = []
    sigma = PERTURB_SIGMA_EXACT if master.space.exact_quotas else PERTURB_SIGMA_FIRST if first else PERTURB_SIGMA
    for _ in range(count):
        noise = np.exp(sigma * rng.standard_normal(len(weights)))
        composition = oracle.good(weights * noise)
        if composition is not None and master.add_panel(composition):
            found.append(composition)
    return found


class SwapSearch:
    """Heuristic pricing: steepest-ascent local search over one-for-one swaps of panel members.

    From a feasible composition, repeatedly apply the swap (one person of type ``a`` out, one of type
    ``b`` in) with the largest gain ``w_b - w_a`` that keeps every quota and the one-per-address rule.
    Candidates ``b`` are limited to the ``breadth`` heaviest types with room, which keeps a step at
    ``O(F·k·breadth)``. Never a certificate of optimality: the exact ILP has the last word.
    """

    def __init__(self, space: PanelSpace, *, starts: int = 16, breadth: int = 128) -> None:
        self.space = space
        self.starts = starts
        self.breadth = breadth
        self.house_of = np.full(space.n_types, -1)
        for h, house in enumerate(space.households):
            self.house_of[list(house)] = h
        self.has_households = bool(space.households)
        # plain-Python copies for the swap-by-swap checks in ``_apply_swaps``
        self.house_list: list[int] = self.house_of.tolist()
        self.counts: list[int] = np.rint(space.counts).astype(int).tolist()
        self.features_of = [tuple(np.flatnonzero(column).tolist()) for column in space.membership.T]
        self.feature_low: list[float] = space.feature_min.tolist()
        self.feature_high: list[float] = space.feature_max.tolist()
        # Exact quotas and no two types with the same features: every swap of one type for another moves a
        # feature count off its exact quota, so no climb can move and the search is skipped (tight n = 360
        # maximin: ~1,300 climbs, 0.3 of 3.5 s CPU; bench notes §16).
        distinct = len(np.unique(space.membership.T, axis=0)) == space.n_types
        self.stuck = space.exact_quotas and distinct

    def improving(self, known: Sequence[np.ndarray], weights: np.ndarray, bar: float) -> list[np.ndarray]:
        """Local optima, started from the ``starts`` best known panels, whose value exceeds ``bar``."""
        if not known or self.stuck:
            return []
        values = np.array(known, dtype=float) @ weights
        found: dict[bytes, np.ndarray] = {}
        for j in np.argsort(-values)[: self.starts]:
            composition = self.climb(known[j], weights)
            if float(composition @ weights) > bar:
                found.setdefault(composition.tobytes(), composition)
        return list(found.values())

    def climb(self, start: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """A local optimum reached from ``start`` by feasible swaps of positive gain.

        Each step scores every (out, in) pair once and then applies, best gain first, every pair that is
        still feasible after the swaps before it (quotas, room in the type, one per address). Gains do not
        change during a climb, so this is steepest ascent with fewer evaluations (about 100 swaps took 100
        evaluations per climb on a pool of 550 types; bench notes). The climb ends when an evaluation
        finds no improving feasible swap, so the result is a local optimum.
        """
        space = self.space
        composition = np.array(start, dtype=np.int64)
        if self.stuck:
            return composition
        load = space.membership @ composition
        houses = np.zeros(len(space.households), dtype=np.int64)
        inside = self.house_of[composition > 0]
        np.add.at(houses, inside[inside >= 0], 1)
        ranked = np.argsort(-weights, kind="stable")  # the weights are fixed during a climb: rank once
        descending = weights[ranked]
        for _ in range(4 * space.size + 10):
            pairs = self._improving_swaps(composition, load, houses, weights, ranked, descending)
            if not self._apply_swaps(pairs, composition, load, houses):
                break
        return composition

    def _apply_swaps(
        self, pairs: list[tuple[int, int]], composition: np.ndarray, load: np.ndarray, houses: np.ndarray
    ) -> int:
        """Apply, in order, each swap that keeps the panel feasible; returns how many were applied.

        Plain Python over each type's few features: a swap changes the load of at most two features per
        category, and numpy's per-call overhead dominated on these tiny vectors (profiled in bench notes).
        """
        counts, features = self.counts, self.features_of
        low, high = self.feature_low, self.feature_high
        level = load.tolist()
        amounts = composition.tolist()
        applied = 0
        for out, into in pairs:
            if amounts[out] == 0 or amounts[into] >= counts[into]:
                continue
            house_in, house_out = self.house_list[into], self.house_list[out]
            if house_in >= 0 and houses[house_in] - (house_in == house_out) > 0:
                continue
            gained = [f for f in features[into] if f not in features[out]]
            lost = [f for f in features[out] if f not in features[into]]
            if any(level[f] + 1 > high[f] for f in gained) or any(level[f] - 1 < low[f] for f in lost):
                continue
            for f in gained:
                level[f] += 1
            for f in lost:
                level[f] -= 1
            amounts[out] -= 1
            amounts[into] += 1
            if house_out >= 0:
                houses[house_out] -= 1
            if house_in >= 0:
                houses[house_in] += 1
            applied += 1
        if applied:
            composition[:] = amounts
            load[:] = level
        return applied

    def _improving_swaps(
        self,
        composition: np.ndarray,
        load: np.ndarray,
        houses: np.ndarray,
        weights: np.ndarray,
        ranked: np.ndarray,
        descending: np.ndarray,
    ) -> list[tuple[int, int]]:
        """Feasible swaps (out type, in type) of positive gain from this panel, best gain first."""
        space = self.space
        outs = np.flatnonzero(composition)
        if not len(outs):
            return []
        # only types heavier than the lightest member can gain; ``descending`` is ``weights[ranked]``
        heavier = ranked[: int(np.searchsorted(-descending, -(weights[outs].min() + 1e-12)))]
        room = heavier[composition[heavier] < space.counts[heavier]]
        ins = room[: self.breadth]
        blocked = np.zeros(len(ins), dtype=bool)
        if self.has_households and len(room):
            # A type whose household is already on the panel can only come in for that member. Such types
            # must not crowd out the others: multiplicative weights make exactly them the heaviest (their
            # housemate on the panel lost weight, they did not), which froze every climb on n = 4000.
            house = self.house_of[room]
            taken = (house >= 0) & (houses[np.maximum(house, 0)] > 0)
            free, held = room[~taken][: self.breadth], room[taken][: self.breadth // 4]
            ins = np.concatenate([free, held])
            blocked = np.arange(len(ins)) >= len(free)
        if not len(ins):
            return []
        gain = weights[ins][None, :] - weights[outs][:, None]  # a type both out and in gains 0
        if blocked.any():  # into a household already on the panel only in place of its member
            same_house = self.house_of[outs][:, None] == self.house_of[ins][None, :]
            gain[blocked[None, :] & ~same_house] = -np.inf
        # From a feasible panel, swapping a out for b breaks a quota f only when f is at its maximum and
        # b has f but a does not, or f is at its minimum and a has f but b does not (0/1 memberships).
        # Counting such f for every pair is two small matrix products instead of an (F, A, B) array.
        member = space.membership
        full = load >= space.feature_max - 0.5
        empty = load <= space.feature_min + 0.5
        broken = np.zeros(gain.shape)
        if full.any():
            broken += (1.0 - member[full][:, outs]).T @ member[full][:, ins]
        if empty.any():
            broken += member[empty][:, outs].T @ (1.0 - member[empty][:, ins])
        good = (broken < 0.5) & (gain > 1e-12)  # -inf (household taken) is never good
        rows, cols = np.nonzero(good)
        if not len(rows):
            return []
        order = np.argsort(-gain[rows, cols], kind="stable")[: 2 * space.size]
        return list(zip(outs[rows[order]].tolist(), ins[cols[order]].tolist(), strict=True))


def covering_compositions(
    oracle: PanelOracle, search: SwapSearch, *, rounds: int
) -> tuple[list[np.ndarray], np.ndarray]:
    """Initial panels by multiplicative weights, then one panel per still-uncovered type.

    The rounds play the maximin game ``max_λ min_t π_t`` by multiplicative weights (Freund & Schapire
    1999; Arora, Hazan & Kale 2012): each round climbs (``SwapSearch``) from the last panel to one
    maximising ``Σ_t y_t c_t/n_t`` and multiplies each type's weight ``y_t`` by ``0.8^(s_t/(k/n))``, where
    ``s_t = c_t/n_t`` is the share the panel gave that type's members: a type that got its fair share
    ``k/n`` loses 20 %, one that got nothing keeps its weight. (pgoelz/citizensassemblies-replication
    ``_generate_initial_committees`` multiplies every type on the panel by 0.8 whatever its share; on
    pools of hundreds of types those panels left the master LP 20-60 rounds from its optimum, these reach
    it in the first solve: bench notes.) A type still uncovered is tried by a climb towards it; the types
    no climb reached then go to the exact ILP together, ``max Σ_{t uncovered} c_t/n_t``, repeated until
    its value is 0, which proves the rest are on no feasible panel.
    Returns the panels and a boolean mask of the types on some feasible panel.
    """
    space = oracle.space
    fair = space.size / space.counts.sum()
    weights = np.ones(space.n_types)
    first = oracle.good(weights / space.counts, retry=True)
    if first is None:
        first, _ = oracle.best(weights / space.counts)
    found: dict[bytes, np.ndarray] = {first.tobytes(): first}
    current = first
    for _ in range(rounds):
        weights = weights * MWU_FACTOR ** (space.shares(current) / fair)
        weights *= space.n_types / weights.sum()
        climbed = search.climb(current, weights / space.counts)
        if np.array_equal(climbed, current):
            # no swap moved it (exact quotas allow none): a dive for these weights instead, so the rounds
            # still play the game (tight n = 360 maximin: 44 master solves instead of 75; bench notes §15)
            dived = oracle.good(weights / space.counts)
            climbed = dived if dived is not None else climbed
        current = climbed
        found.setdefault(current.tobytes(), current)
    covered = np.zeros(space.n_types, dtype=bool)
    for composition in found.values():
        covered |= composition > 0
    for t in np.flatnonzero(~covered):
        if covered[t]:
            continue
        target = np.zeros(space.n_types)
        target[t] = 1.0
        composition = search.climb(first, target)
        if composition[t] > 0:
            found.setdefault(composition.tobytes(), composition)
            covered |= composition > 0
    while not covered.all():
        # The panel with the most of the types no climb reached: a dive first (milliseconds), and the exact
        # ILP only when the dive finds none of them. Under exact quotas no single swap is feasible, so every
        # climb stays put, and one ILP per type took ~100 ILPs on a tight pool of 326 types (bench notes
        # §12). ILP value 0: none of them is on any panel.
        uncovered = (~covered) / space.counts
        dived = oracle.good(uncovered, retry=True)
        if dived is not None and (dived[~covered] > 0).any():
            composition = dived
        else:
            composition, value = oracle.best(uncovered, start=dived)
            if value < 0.5 / space.counts.max():
                break
        found.setdefault(composition.tobytes(), composition)
        covered |= composition > 0
    return list(found.values()), covered


def uniform_level(
    space: PanelSpace, covered: np.ndarray, fixed: np.ndarray | None = None, target: np.ndarray | None = None
) -> float:
    """Upper bound on the smallest probability among the covered types not yet ``fixed`` (NaN = not fixed).

    Every panel has ``k`` members, so ``Σ_t n_t π_t = k`` for any distribution; with the fixed types held
    at ``π_t ≥ f_t``, the smallest ``π_t`` of the others is at most their average
    ``(k - Σ_fixed n_t f_t) / Σ_others n_t``. A distribution reaching it gives every other type exactly
    that probability (a shortfall anywhere would need a surplus elsewhere). With nothing fixed this is
    ``k / (people on some feasible panel)``, and reaching it is the optimum of leximin, maximin, Nash and
    Goldilocks alike. With a ``target`` (weighted leximin: ``π_t ≥ target_t·z``) the bound on ``z`` is
    ``(k - Σ_fixed n_t f_t) / Σ_others n_t·target_t``.
    """
    if fixed is None:
        fixed = np.full(space.n_types, np.nan)
    if target is None:
        target = np.ones(space.n_types)
    free = covered & np.isnan(fixed)
    held = covered & ~np.isnan(fixed)
    remaining = space.size - float(space.counts[held] @ fixed[held])
    return remaining / float(space.counts[free] @ target[free])


def reaches_uniform(level: float, bound: float) -> bool:
    """Whether a level equals the ``uniform_level`` bound (within ``UNIFORM_TOLERANCE``), certifying it."""
    return level >= bound - UNIFORM_TOLERANCE


def _at_uniform(master: MasterLP, bound: float) -> Callable[[], bool]:
    """``reached`` test for a maximin-type master: its level ``z = -objective`` is the uniform bound."""
    return lambda: reaches_uniform(-master.objective(), bound)


def leximin_distribution(
    oracle: PanelOracle,
    initial: Sequence[np.ndarray],
    covered: np.ndarray,
    *,
    search: SwapSearch | None = None,
    on_level: Callable[[int, int, float], None] | None = None,
    on_round: Callable[[], None] | None = None,
    target: np.ndarray | None = None,
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Leximin over feasible panels (Flanigan, Gölz, Gupta, Hennig, Procaccia, Nature 2021).

    ``target`` (one positive value per type, default ones) makes it leximin of ``π_t / target_t``: each
    level holds ``π_t ≥ target_t·z``. With ``target_t = 1/q_t``, ``q_t`` the type's probability of being
    in the pool, that is leximin of the end-to-end probabilities ``q_t·π_t`` (Flanigan, Gölz, Gupta,
    Procaccia, NeurIPS 2020). It is scaled so its smallest covered value is 1, which keeps ``z ≤ 1``.

    Level by level, the primal ``max z s.t. π_t ≥ z (t unfixed), π_t ≥ f_t (t fixed), Σ_P λ_P = 1``
    is solved by column generation; at its optimum every unfixed type with positive dual ``y_t`` is
    tight in *every* optimal solution (complementary slackness), so it is fixed at ``f_t = z*``. The
    dual used is the simplex dual of the restricted master that pricing has just certified optimal
    over all panels, so each fix is exact; at least one type (``Σ_t y_t = 1``) is fixed per level.
    Types on no feasible panel (``covered`` false) are fixed at 0 up front.

    Each new level starts from a fresh master holding only the panels of the last optimal basis and
    those with reduced cost 0. The others were priced for earlier levels; left in, they made
    the primal simplex wander through thousands of degenerate pivots (skewed pool n = 700: 308,000 ->
    158,000 pivots and 327 s -> 178 s for leximin; bench notes §10). A dropped panel that prices out
    again is added again, so the certificate at each level is unchanged.
    Returns the panel compositions, their weights and the fixed per-type probabilities.
    After each level ``on_level(types fixed, types, level)``; ``on_round`` goes to ``generate_columns``.
    """
    space = oracle.space
    weight = leximin_weights(covered, target)
    fixed = np.where(covered, np.nan, 0.0)
    master, level_col, rows = _level_master(space, covered, fixed, initial, target=weight)
    first_level = True
    while True:
        reached = _at_uniform(master, uniform_level(space, covered, fixed, weight))
        generate_columns(master, oracle, search, reached=reached, on_round=on_round, first=first_level)
        first_level = False
        level = -master.objective()
        if reached():  # every remaining type is at the remaining (weighted) average
            free = np.isnan(fixed)
            fixed[free] = weight[free] * level
            if on_level is not None:
                on_level(space.n_types, space.n_types, level)
            break
        duals = master.row_duals()[rows]
        unfixed = np.isnan(fixed)
        tight = unfixed & (duals > FIX_EPS)
        if not tight.any():
            tight[int(np.argmax(np.where(unfixed, duals, -np.inf)))] = True
        fixed[tight] = weight[tight] * level
        if on_level is not None:
            on_level(int((~np.isnan(fixed)).sum()), space.n_types, level)
        if not np.isnan(fixed).any():
            break
        master, level_col, rows = _level_master(space, covered, fixed, *_useful_panels(master), target=weight)
    if len(np.unique(fixed[covered])) > 1:  # one level reached by every type needs no polish
        _polish(master, level_col, rows, fixed)
    return master.compositions, master.panel_weights(), fixed


def leximin_weights(covered: np.ndarray, target: np.ndarray | None) -> np.ndarray:
    """Per-type weights of weighted leximin (``π_t ≥ weight_t·z``): ``target`` (ones by default) scaled so its
    smallest covered value is 1, which keeps ``z ≤ 1``."""
    weight = np.ones(len(covered)) if target is None else np.asarray(target, dtype=float)
    return weight / weight[covered].min() if covered.any() else weight


def _level_master(
    space: PanelSpace,
    covered: np.ndarray,
    fixed: np.ndarray,
    panels: Sequence[np.ndarray],
    basis: highspy.HighsBasis | None = None,
    *,
    target: np.ndarray | None = None,
) -> tuple[MasterLP, int, list[int]]:
    """Master LP of one level: ``max z``, ``π_t ≥ z`` (unfixed, covered), ``π_t ≥ f_t - FIX_SLACK`` (fixed).

    With ``target``: ``π_t ≥ target_t·z`` for the unfixed covered types (weighted leximin).

    Maximin is the first level (nothing fixed but the uncovered types, at 0).

    ``basis`` (from ``_useful_panels``) warm-starts it from the last level's optimal basis. A cold
    start cost more at every size measured: 1.2 s against 0.63 s for fixture leximin (simplex), and by
    interior point and crossover 5-6 s per level on the skewed pool n = 1000 (490 rows), where the warm
    start often needs a few pivots (skewed n = 700 leximin 62 s -> 45 s, n = 1000 205 s -> 171 s;
    bench notes §11)."""
    master = MasterLP(space)
    level_col = master.add_variable(-1.0, -INF, 1.0)  # minimise -z
    rows = []
    for t in range(space.n_types):
        if np.isnan(fixed[t]):
            row = master.add_row(0.0, INF, type_index=t)
            if covered[t]:
                master.model.changeCoeff(row, level_col, -1.0 if target is None else -float(target[t]))
        else:
            row = master.add_row(max(float(fixed[t]) - FIX_SLACK, 0.0), INF, type_index=t)
        rows.append(row)
    for composition in panels:
        master.add_panel(composition)
    if basis is not None:
        master.model.setBasis(basis)
    return master, level_col, rows


def _useful_panels(master: MasterLP) -> tuple[list[np.ndarray], highspy.HighsBasis]:
    """The panels of the optimal basis and those with reduced cost 0, and that basis restricted to them.

    Every basic column is kept, so the restricted basis is a basis of the new master (same rows, same
    non-panel columns first)."""
    weights, threshold = master.pricing_weights()
    basis = master.model.getBasis()
    status = list(basis.col_status)
    basic = highspy.HighsBasisStatus.kBasic
    values = np.array(master.compositions, dtype=float) @ weights
    kept = [
        j
        for j, col in enumerate(master.panel_cols)
        if status[col] == basic or values[j] >= threshold - _price_slack(threshold)
    ]
    panel_cols = set(master.panel_cols)
    others = [col for col in range(master.n_cols) if col not in panel_cols]
    basis.col_status = [status[col] for col in others] + [status[master.panel_cols[j]] for j in kept]
    return [master.compositions[j] for j in kept], basis


def _polish(master: MasterLP, slack_col: int, rows: Sequence[int], fixed: np.ndarray) -> None:
    """Final leximin LP: ``min ε s.t. π_t + ε ≥ f_t`` for every type, over the generated panels.

    The levels were held with slack ``FIX_SLACK``; this restores the exact fixed values up to ``ε``
    (zero up to the LP tolerance), as in the replication code's final primal.
    """
    master.model.changeColCost(slack_col, 1.0)
    master.model.changeColBounds(slack_col, 0.0, INF)
    for t, row in enumerate(rows):
        master.model.changeCoeff(row, slack_col, 1.0)
        master.model.changeRowBounds(row, float(fixed[t]), INF)
    master.solve()


def maximin_distribution(
    oracle: PanelOracle,
    initial: Sequence[np.ndarray],
    covered: np.ndarray,
    *,
    search: SwapSearch | None = None,
    on_round: Callable[[], None] | None = None,
) -> tuple[list[np.ndarray], np.ndarray, float]:
    """Maximin: ``max z s.t. π_t ≥ z`` for every type on some panel, by column generation.

    Same LP as the first leximin level (Flanigan et al., Nature 2021, Methods). Returns the panel
    compositions, their weights and the optimal level ``z*``.
    """
    space = oracle.space
    master, _, _ = _level_master(space, covered, np.where(covered, np.nan, 0.0), initial)
    reached = _at_uniform(master, uniform_level(space, covered))
    generate_columns(master, oracle, search, reached=reached, on_round=on_round, first=True)
    return master.compositions, master.panel_weights(), -master.objective()
