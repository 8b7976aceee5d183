"""The shared shape of every model family: one class per family, built from a spec.

Following CausalPy, each family is a class whose docstring carries its mathematics and
whose default priors are data (``DEFAULT_PRIORS``). A spec may override any default
prior hyperparameter; naming a prior the family does not have is a :class:`SpecError`.
"""

from __future__ import annotations

import functools
import itertools
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import ClassVar

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
from pymc.distributions.transforms import ZeroSumTransform

from bayes_ketamine.data.study import SEXES, Study
from bayes_ketamine.models.design import (
    CARRYOVER_ALIASED,
    CARRYOVER_ALIASED_ARMS,
    after_active,
    covariate_matrix,
    factor_levels,
    participants_file,
    sequence_counts,
    unidentified_carryover,
)
from bayes_ketamine.models.parametrisation import Parametrisation
from bayes_ketamine.models.spec import ModelSpec, SpecError


class CrossoverModel(ABC):
    """A PyMC model of a crossover study, built from a spec and a study.

    Two or more conditions (the first the reference) over two or more periods; with
    two of each the graphs are those of the original two-period models.

    The condition effects are specific to the levels of a participant factor (sex by
    default; see :meth:`factor_effect`); optional participant covariates act through
    :meth:`covariate_term`.

    Every array that comes from the study (indices, indicators, covariates, observed
    values, the scale's bounds) enters the graph as ``pm.Data`` and every study size as
    a coordinate, never as a constant, so the graph depends only on the model's
    *structure*: one compiled model fits any study of the same design (see
    :mod:`bayes_ketamine.inference.structure`). Choices the study does drive (e.g.
    centred or non-centred participant levels) are structure and give another graph.

    Parameters
    ----------
    spec : ModelSpec
        The validated model specification.
    study : Study
        The validated study.

    Attributes
    ----------
    pymc_model : pymc.Model
        The built model, with named dims and coords.
    observed_vars : tuple of str
        Names of the observed random variables (one per likelihood).
    key_effects : tuple of str
        Names of the derived quantities that answer the study's question; reported in
        summaries, sensitivity checks and figures. ``KEY_EFFECTS`` with, for a pooling
        factor other than sex, ``glx_sex_difference`` replaced by the contrasts
        between levels (``<effect>_contrast`` of each effect in ``CONTRASTED``), and
        the ``CARRYOVER`` terms when the spec asks for carry-over.
    parametrisation : dict of str to Parametrisation
        Each hierarchical term's parametrisation and the numbers that chose it, by
        the name of the term's variable (see :meth:`choose_parametrisation`).
    """

    family: ClassVar[str]
    DEFAULT_PRIORS: ClassVar[dict[str, dict[str, float]]]
    observed_vars: ClassVar[tuple[str, ...]]
    KEY_EFFECTS: ClassVar[tuple[str, ...]]
    CONTRASTED: ClassVar[tuple[str, ...]]
    CARRYOVER: ClassVar[tuple[str, ...]]

    @property
    def key_effects(self) -> tuple[str, ...]:
        """The key effects of this model (see the class docstring)."""
        carryover = self.CARRYOVER if self.spec.carryover else ()
        if self.by_sex:
            return self.KEY_EFFECTS + carryover
        kept = tuple(name for name in self.KEY_EFFECTS if name != "glx_sex_difference")
        return kept + tuple(f"{name}_contrast" for name in self.CONTRASTED) + carryover

    def __init__(self, spec: ModelSpec, study: Study) -> None:
        if spec.family != self.family:
            raise SpecError(f"spec {spec.name!r} is family {spec.family!r}, not {self.family!r}")
        self.spec = spec
        self.study = study
        self.priors = self._merge_priors(spec)
        if spec.carryover:
            check_carryover_identifiable(self)
        self.parametrisation: dict[str, Parametrisation] = {}
        self.pymc_model = self.build()

    @classmethod
    def default_priors(cls, spec: ModelSpec) -> dict[str, dict[str, float]]:
        """Return the family's default priors for the spec's pooling factor.

        ``DEFAULT_PRIORS`` names each between-level SD prior ``<effect>_sex_sd``; for
        another pooling factor ``f`` the same prior is named ``<effect>_f_sd``.
        """
        suffix = "_sex_sd"
        factor = spec.pooling_factor
        return {
            (name[: -len(suffix)] + f"_{factor}_sd" if name.endswith(suffix) else name): dict(hyper)
            for name, hyper in cls.DEFAULT_PRIORS.items()
        }

    @classmethod
    def _merge_priors(cls, spec: ModelSpec) -> dict[str, dict[str, float]]:
        where = str(spec.source) if spec.source else spec.name
        merged = cls.default_priors(spec)
        for name, hyper in spec.priors.items():
            if name not in merged:
                raise SpecError(
                    f"{where}: unknown key 'priors.{name}' for family {cls.family!r}; "
                    f"known priors: {', '.join(sorted(merged))}"
                )
            unknown = set(hyper) - set(merged[name])
            if unknown:
                raise SpecError(
                    f"{where}: unknown key(s) "
                    f"{', '.join(f'priors.{name}.{h}' for h in sorted(unknown))}; "
                    f"expected {', '.join(sorted(merged[name]))}"
                )
            for hname, value in hyper.items():
                if hname in {"sigma", "nu", "alpha", "beta"} and value <= 0:
                    raise SpecError(f"{where}: key 'priors.{name}.{hname}' must be positive")
            merged[name].update(hyper)
        return merged

    @abstractmethod
    def build(self) -> pm.Model:
        """Build and return the PyMC model."""

    @abstractmethod
    def observation_labels(self) -> dict[str, pd.DataFrame]:
        """Return, per observed variable, the labels of each observation.

        Returns
        -------
        dict of str to pandas.DataFrame
            One frame per name in ``observed_vars``, one row per observation in the
            order of the observation dimension, with columns such as
            ``participant_id``, ``session``, ``condition``, ``sex`` and ``timepoint`` or
            ``block``. Posterior predictive statistics group by these.
        """

    # -- helpers shared by the families -------------------------------------------

    @property
    def factor(self) -> str:
        """The participant factor the condition effects are pooled by (a dim name)."""
        return self.spec.pooling_factor

    def row_labels(self, rows: pd.DataFrame, **columns: np.ndarray) -> pd.DataFrame:
        """Return the labels of observation ``rows``: those every family has, then ``columns``.

        Every observation is labelled with its ``participant_id``, ``session``,
        ``condition``, ``sex`` and level of the pooling factor (a column named after
        it); a family adds its own (e.g. ``block``, ``timepoint``) as ``columns``.
        """
        people = self.study.participants.set_index("participant_id")
        ids = rows["participant_id"]
        return pd.DataFrame(
            {
                "participant_id": ids.to_numpy(),
                "session": rows["session"].to_numpy(dtype=int),
                "condition": rows["condition"].to_numpy(),
                "sex": ids.map(people["sex"]).to_numpy(),
                self.factor: ids.map(people[self.factor]).to_numpy(),
                **columns,
            }
        )

    @property
    def by_sex(self) -> bool:
        """Whether the pooling factor is sex (the default, with its legacy outputs)."""
        return self.factor == "sex"

    def coords(self) -> dict[str, list]:
        """Return the coords shared by all families.

        Besides participants, sessions and conditions: the levels of the pooling
        factor (dim named after it) and, for a factor other than sex, the pairs of
        levels its contrasts are reported for (dim ``<factor>_pair``, labels
        ``"b - a"``), the covariates of the spec (dims ``glx_covariate`` and
        ``symptom_covariate``) and, with more than two periods, the sessions after
        the first (dim ``later_session``, one period effect each) and, with more
        than two conditions, the non-reference ones (dim ``active_condition``).
        """
        coords: dict[str, list] = {
            "participant": self.study.participant_ids,
            self.factor: list(self.levels),
            "session": list(range(1, self.study.periods + 1)),
            "condition": list(self.study.conditions),
        }
        if self.multi_arm:
            coords["active_condition"] = list(self.study.active_conditions)
        if self.study.periods > 2:
            coords["later_session"] = list(range(2, self.study.periods + 1))
        if not self.by_sex:
            coords[f"{self.factor}_pair"] = [f"{b} - {a}" for a, b in self.level_pairs()]
        if self.spec.glx_covariates:
            coords["glx_covariate"] = list(self.spec.glx_covariates)
        if self.spec.symptom_covariates:
            coords["symptom_covariate"] = list(self.spec.symptom_covariates)
        return coords

    @functools.cached_property
    def levels(self) -> tuple[str, ...]:
        """Return the levels of the pooling factor in coordinate order.

        Sex always has the levels ``SEXES``; another factor has the sorted labels of
        its ``participants.csv`` column.

        Raises
        ------
        SpecError
            If the column is absent, numeric, has a missing value (naming the line) or
            has fewer than two levels.
        """
        if self.by_sex:
            return SEXES
        return factor_levels(self.study, self.factor, spec=self.spec)

    def level_pairs(self) -> list[tuple[str, str]]:
        """Return every pair ``(a, b)`` of levels, ``a`` before ``b``."""
        return list(itertools.combinations(self.levels, 2))

    def add_design_data(self) -> None:
        """Store the design data every family shares.

        Each participant's level of the pooling factor (``participant_<factor>``, an
        index into :attr:`levels`) and, for a factor other than sex, the indices of the
        two levels of each contrast (``<factor>_pair_first`` and ``_second``).
        """
        pm.Data(f"participant_{self.factor}", self.level_index(), dims="participant")
        if not self.by_sex:
            pairs = np.array(
                [[self.levels.index(a), self.levels.index(b)] for a, b in self.level_pairs()]
            )
            dim = f"{self.factor}_pair"
            pm.Data(f"{self.factor}_pair_first", pairs[:, 0], dims=dim)
            pm.Data(f"{self.factor}_pair_second", pairs[:, 1], dims=dim)

    def participant_level(self) -> pt.TensorVariable:
        """Return the data of each participant's level index, in the current model."""
        return pm.modelcontext(None)[f"participant_{self.factor}"]

    def level_index(self) -> np.ndarray:
        """Return each participant's level of the pooling factor as an index."""
        column = self.study.participants[self.factor]
        return column.map({s: i for i, s in enumerate(self.levels)}).to_numpy(dtype=int)

    def level_contrasts(self, name: str, effect: pt.TensorVariable) -> None:
        """Add ``{name}_contrast``: ``effect[b] - effect[a]`` for every pair of levels.

        Only for a factor other than sex (whose outputs stay as they were); ``effect``
        has dims ``(*arm_dims, factor)``.
        """
        if self.by_sex:
            return
        model = pm.modelcontext(None)
        first = model[f"{self.factor}_pair_first"]
        second = model[f"{self.factor}_pair_second"]
        pm.Deterministic(
            f"{name}_contrast",
            effect[..., second] - effect[..., first],
            dims=(*self.arm_dims, f"{self.factor}_pair"),
        )

    def pooled_and_sex_difference(self, name: str, effect: pt.TensorVariable) -> None:
        """Add ``{name}_pooled`` (mean over levels) and, by sex, ``glx_sex_difference``.

        ``effect`` has dims ``(*arm_dims, factor)``; the results have ``arm_dims``.
        ``glx_sex_difference`` (:math:`a_M - a_F`) is added for ``glx_condition_effect``
        only, as in the two-condition models.
        """
        if not self.multi_arm:  # the two-condition graph, unchanged
            pm.Deterministic(f"{name}_pooled", effect.mean())
            if self.by_sex and name == "glx_condition_effect":
                pm.Deterministic("glx_sex_difference", effect[1] - effect[0])
            return
        pm.Deterministic(f"{name}_pooled", effect.mean(axis=-1), dims=self.arm_dims)
        if self.by_sex and name == "glx_condition_effect":
            pm.Deterministic("glx_sex_difference", effect[:, 1] - effect[:, 0], dims=self.arm_dims)

    @property
    def multi_arm(self) -> bool:
        """Whether the study has more than two conditions (one effect per active one)."""
        return len(self.study.conditions) > 2

    @property
    def arm_dims(self) -> tuple[str, ...]:
        """Dims of the active conditions.

        ``("active_condition",)`` with three or more conditions; none with two, whose
        effects keep the two-condition names and dims.
        """
        return ("active_condition",) if self.multi_arm else ()

    def active_indicator(self, conditions: pd.Series | np.ndarray) -> np.ndarray:
        """Return the active-condition indicator of each label.

        With two conditions ``x = [label is the active condition]`` (shape ``(n,)``);
        with more, one column per non-reference condition (shape ``(n, K - 1)``,
        one-hot; all 0 for the reference).
        """
        labels = np.asarray(conditions, dtype=object)
        if not self.multi_arm:
            return (labels == self.study.active_condition).astype(float)
        arms = np.array(self.study.active_conditions, dtype=object)
        return (labels[:, None] == arms[None, :]).astype(float)

    def session_active(self) -> np.ndarray:
        """Return the active-condition indicator of each (participant, session).

        Shape (participant, session), or (participant, session, active condition)
        with more than two conditions (see :meth:`active_indicator`). Sessions a
        participant did not attend take their condition from the declared
        ``sequence`` when there is one and are the reference otherwise; their latent
        quantities are then drawn from the prior and inform nothing.
        """
        study = self.study
        pids = study.participant_ids
        labels = np.full((len(pids), study.periods), study.reference_condition, dtype=object)
        seq = study.participants.set_index("participant_id")["sequence"]
        for i, pid in enumerate(pids):
            declared = seq.get(pid)
            if isinstance(declared, str) and declared:
                for s, cond in enumerate(declared.split("-")[: study.periods]):
                    labels[i, s] = cond
        for row in study.sessions().itertuples(index=False):
            labels[pids.index(row.participant_id), row.session - 1] = row.condition
        active = self.active_indicator(labels.ravel())
        return active.reshape(*labels.shape, *active.shape[1:])

    def session_data(self) -> dict[str, pt.TensorVariable]:
        """Return the session design data, adding it to the current model once.

        ``session_active`` (:meth:`session_active`) and, with carry-over,
        ``session_after_active``: the previous session's active indicator(s)
        :math:`x_{i,s-1}` (0 in the first session), dims (participant, session) with
        two conditions and (participant, session, ``active_condition``) with more,
        one column per active condition (see :meth:`carryover_term`).
        """
        model = pm.modelcontext(None)
        dims = ("participant", "session")
        if "session_active" not in model.named_vars:
            active = self.session_active()
            pm.Data("session_active", active, dims=dims + self.arm_dims)
            if self.spec.carryover:
                pm.Data("session_after_active", after_active(active), dims=dims + self.arm_dims)
        names = ["session_active"] + (["session_after_active"] if self.spec.carryover else [])
        return {name: model[name] for name in names}

    def carryover_term(
        self, name: str, rows: tuple[pt.TensorVariable, pt.TensorVariable] | None = None
    ) -> pt.TensorVariable:
        r"""Return the first-order carry-over shift :math:`\sum_k \lambda_k x_{i,s-1,k}`.

        The coefficient ``name`` has the prior of that name for every element: a
        scalar :math:`\lambda` with two conditions (the term is
        :math:`\lambda x_{i,s-1}`, as in the two-condition models), and with
        :math:`K > 2` conditions a vector :math:`\lambda_k` over ``active_condition``,
        the carry-over of active condition :math:`k` into the next period. The
        reference condition carries nothing over (it is the baseline of
        :math:`\lambda`).

        Parameters
        ----------
        name : str
            Name of the coefficient and of its prior.
        rows : tuple of pytensor.tensor.TensorVariable, optional
            Participant and session (0-based) indices of observations; the shift is
            then per observation, else per (participant, session).

        Returns
        -------
        pytensor.tensor.TensorVariable
            The shift, per (participant, session) or per observation.
        """
        carry = pm.Normal(name, **self.priors[name], dims=self.arm_dims or None)
        after = self.session_data()["session_after_active"]
        if rows is not None:
            after = after[rows]
        if self.multi_arm:
            return (after * carry).sum(axis=-1)
        return carry * after

    def period_effect(self, name: str) -> pt.TensorVariable:
        """Return the period effects: a scalar for two periods, else one per later period.

        With two periods the effect of period 2 is a scalar (as in the two-period
        models); with ``P > 2`` periods it has dim ``later_session`` (periods 2..P),
        each with the prior ``name``. Period 1 is the reference.
        """
        dims = "later_session" if self.study.periods > 2 else None
        return pm.Normal(name, **self.priors[name], dims=dims)

    def period_term(
        self, period: pt.TensorVariable, session: pt.TensorVariable
    ) -> pt.TensorVariable:
        """Return the period effect of each observation's session (0 in period 1)."""
        if self.study.periods == 2:
            return period * pt.eq(session, 2)
        return pt.concatenate([pt.zeros(1), period])[session - 1]

    def covariate_term(self, prefix: str, names: tuple[str, ...]) -> pt.TensorVariable | None:
        r"""Return each participant's covariate term :math:`\sum_k \gamma_k z_{ik}`.

        The covariates (``names``, numeric columns of ``participants.csv``) are
        standardised over the study's participants (mean 0, SD 1; see
        :func:`covariate_matrix`) and enter as data ``{prefix}_covariates`` (dims
        participant, ``{prefix}_covariate``); the coefficients
        ``{prefix}_covariate_effect`` (per SD of the covariate) have the prior of that
        name. Returns ``None`` when there are no covariates (the graph is then as
        without this option).
        """
        if not names:
            return None
        values = covariate_matrix(self.study, names, missing=self.spec.covariate_missing)
        dims = ("participant", f"{prefix}_covariate")
        data = pm.Data(f"{prefix}_covariates", values, dims=dims)
        coef = pm.Normal(
            f"{prefix}_covariate_effect", **self.priors[f"{prefix}_covariate_effect"], dims=dims[1]
        )
        return pt.dot(data, coef)

    def participant_index(self, table: pd.DataFrame) -> np.ndarray:
        """Return the participant index of each row of ``table``."""
        order = {pid: i for i, pid in enumerate(self.study.participant_ids)}
        return table["participant_id"].map(order).to_numpy(dtype=int)

    def choose_parametrisation(
        self, term: str, *, observations: float, noise_scale: float, level_scale: float
    ) -> bool:
        """Choose and record the parametrisation of a hierarchical term; True if centred.

        The rule is :class:`~bayes_ketamine.models.parametrisation.Parametrisation`'s;
        the choice is kept in :attr:`parametrisation` under ``term``.
        """
        choice = Parametrisation(
            observations=observations, noise_scale=noise_scale, level_scale=level_scale
        )
        self.parametrisation[term] = choice
        return choice.centred

    def participants_per_level(self, sessions: pd.DataFrame) -> int:
        """Return the participants of the smallest level who inform a condition contrast.

        A participant informs it with at least one session under the reference
        condition and one under another condition among ``sessions`` (rows with
        ``participant_id`` and ``condition``, e.g. the sessions that have fMRS
        blocks or ratings).
        """
        reference = self.study.reference_condition
        conditions = sessions.groupby("participant_id")["condition"].agg(set)
        contrasted = {pid for pid, c in conditions.items() if reference in c and len(c) > 1}
        people = self.study.participants
        level = people.loc[people["participant_id"].isin(contrasted), self.factor]
        return int(level.value_counts().reindex(list(self.levels), fill_value=0).min())

    def factor_effect(
        self,
        name: str,
        prior: str,
        outer: tuple[str, ...] = (),
        *,
        sessions: pd.DataFrame,
        contrast_sd: float,
        shifted: tuple[str, Callable[[], pt.TensorVariable]] | None = None,
    ) -> pt.TensorVariable:
        """Return an effect per level of the pooling factor, pooled as the spec says.

        With ``pooling = "none"`` each level has its own effect with the prior
        ``Normal(mu, sigma)``. With ``"complete"`` one effect is shared by all levels.
        With ``"partial"``, over the ``K`` levels ``k``::

            effect[k] ~ Normal(mean, sd)                    (centred)
            effect[k] = mean + sd * z[k],  z ~ Normal(0, 1)  (non-centred)
            mean ~ Normal(mu, sigma),      sd ~ HalfNormal(sd_sigma)

        The hyperprior ``sd_sigma`` is the prior ``{prior}_{factor}_sd`` (for sex
        ``{prior}_sex_sd``). Its scale does not change with ``K``: the prior of any
        contrast between two levels, ``effect[k] - effect[l]``, is then the same
        whatever the number of levels, so adding sites or groups claims neither larger
        nor smaller differences between any two of them. With two levels the data
        barely inform the SD, so the half-normal is on the scale of a plausible
        difference rather than a vague one: it regularises towards pooling while
        letting a difference of that size through; with more levels the ``K - 1``
        contrasts inform it increasingly.

        The effects are centred when the participants of the smallest level
        (:meth:`participants_per_level`) inform them well: information ratio
        ``n * sd_sigma**2 / contrast_sd**2`` of at least
        :data:`~bayes_ketamine.models.parametrisation.CENTRED_MIN_RATIO` (term
        ``name`` in :attr:`parametrisation`). GO-MARK's 13 participants per sex are
        non-centred; a pooled study with hundreds per level is centred.

        Parameters
        ----------
        name : str
            Name of the resulting variable (dims ``(*outer, factor)``).
        prior : str
            Name of the prior in ``self.priors`` for the mean effect.
        outer : tuple of str
            Dims before the factor's (e.g. ``("post_timepoint",)``).
        sessions : pandas.DataFrame
            The sessions with observations of this effect's outcome
            (``participant_id``, ``condition``).
        contrast_sd : float
            Nominal SD of one participant's within-participant contrast of the
            outcome between two conditions (from the family's priors).
        shifted : tuple of (str, callable), optional
            ``(shifted_name, shift)``: in the centred form, sample ``effect + shift()``
            (named ``shifted_name``) instead of the effect itself, with the prior the
            effect's implies (:meth:`_centred_levels`). ``shift`` is called only then;
            it returns a tensor broadcasting against dims ``(*outer, factor)``.

        Returns
        -------
        pytensor.tensor.TensorVariable
        """
        dims = (*outer, self.factor)
        p = self.priors[prior]
        pooling = self.spec.pooling
        if pooling == "none":
            return pm.Normal(name, mu=p["mu"], sigma=p["sigma"], dims=dims)
        # Sex always has two levels (its graph is unchanged from the sex-only
        # models); another factor's number of levels is a study size.
        n_levels = len(SEXES) if self.by_sex else pm.modelcontext(None).dim_lengths[self.factor]
        if pooling == "partial":
            sd_sigma = self.priors[f"{prior}_{self.factor}_sd"]["sigma"]
            centred = self.choose_parametrisation(
                name,
                observations=self.participants_per_level(sessions),
                noise_scale=contrast_sd,
                level_scale=sd_sigma,
            )
            if centred:
                return self._centred_levels(name, p, sd_sigma, outer, n_levels, shifted)
        mean = pm.Normal(f"{name}_mean", mu=p["mu"], sigma=p["sigma"], dims=outer or None)
        mean_b = mean[..., None] if outer else mean
        if pooling == "complete":
            return pm.Deterministic(name, mean_b * pt.ones(n_levels), dims=dims)
        sd = pm.HalfNormal(f"{name}_{self.factor}_sd", sigma=sd_sigma, dims=outer or None)
        sd_b = sd[..., None] if outer else sd
        z = pm.Normal(f"{name}_{self.factor}_z", 0.0, 1.0, dims=dims)
        return pm.Deterministic(name, mean_b + sd_b * z, dims=dims)

    def _centred_levels(
        self,
        name: str,
        p: dict[str, float],
        sd_sigma: float,
        outer: tuple[str, ...],
        n_levels: int | pt.TensorVariable,
        shifted: tuple[str, Callable[[], pt.TensorVariable]] | None = None,
    ) -> pt.TensorVariable:
        r"""Return partially pooled level effects in the centred form.

        The levels' own mean :math:`\bar e` and their deviations :math:`d_k`
        (summing to zero) are the free parameters, and the hyper-mean :math:`m`
        is drawn given :math:`\bar e`::

            tau ~ HalfNormal(sd_sigma)                         ({name}_{factor}_sd)
            ebar ~ Normal(mu, sqrt(sigma**2 + tau**2 / K))       ({name}_level_mean)
            d ~ ZeroSumNormal(tau)                                ({name}_{factor}_deviation)
            effect[k] = ebar + d[k]
            m = (mu / sigma**2 + K ebar / tau**2) / q + w / sqrt(q),
                q = 1 / sigma**2 + K / tau**2,   w ~ Normal(0, 1)   ({name}_mean)

        This is exactly the joint distribution of ``m ~ Normal(mu, sigma)``,
        ``effect[k] ~ Normal(m, tau)`` (the deviations and :math:`\bar e` split the
        levels' density; :math:`m \mid \bar e, \tau` is the conjugate normal), written
        so that where the data pin every level down neither the deviations nor the
        hyper-mean form a funnel with :math:`\tau`: with two levels the plainly centred
        form has :math:`m \mid e \sim \mathcal{N}(\bar e, \tau/\sqrt 2)`, a funnel
        over the whole range of the barely informed :math:`\tau`.

        With ``shifted = (shifted_name, shift)`` the free parameters are those of
        :math:`f_k = e_k + s_k` (``s = shift()``, e.g. :math:`s_k = b\,a_k`, which
        turns a direct effect into a total one) rather than of :math:`e_k`: the
        levels' mean :math:`\bar f_\cdot = \bar e_\cdot + \bar s_\cdot`
        (``{shifted_name}_level_mean``, prior as :math:`\bar e_\cdot`'s with its mean
        moved by :math:`\bar s_\cdot`) and the deviations :math:`d_k + s_k - \bar
        s_\cdot` (``{shifted_name}_{factor}_deviation``, a zero-sum normal moved by the
        same amount); :math:`e_k = f_k - s_k`. Given :math:`s` this is a translation,
        so the joint prior of :math:`m, \tau, e` is unchanged; only the coordinates
        NUTS moves in are, which matters when the data pin :math:`f` down better
        than :math:`e` (the joint model's total effects).
        """
        dims = (*outer, self.factor)
        sd = pm.HalfNormal(f"{name}_{self.factor}_sd", sigma=sd_sigma, dims=outer or None)
        sd_b = sd[..., None] if outer else sd
        var0 = p["sigma"] ** 2
        free_name, shift = (name, 0.0) if shifted is None else (shifted[0], shifted[1]())
        shift_mean = pt.as_tensor(shift).mean(axis=-1) if shifted else 0.0
        level_mean = pm.Normal(
            f"{free_name}_level_mean",
            mu=p["mu"] + shift_mean,
            sigma=pt.sqrt(var0 + sd**2 / n_levels),
            dims=outer or None,
        )
        deviation_name = f"{free_name}_{self.factor}_deviation"
        if shifted is None:
            deviation = pm.ZeroSumNormal(deviation_name, sigma=sd_b, dims=dims)
        else:
            deviation = pm.CustomDist(
                deviation_name,
                shift - pt.as_tensor(shift_mean)[..., None],
                sd_b,
                dist=_shifted_zero_sum_normal,
                transform=ZeroSumTransform([-1]),
                dims=dims,
            )
        level_mean_b = level_mean[..., None] if outer else level_mean
        levels_mean = level_mean if shifted is None else level_mean - shift_mean
        precision = 1.0 / var0 + n_levels / sd**2
        mean_z = pm.Normal(f"{name}_mean_z", 0.0, 1.0, dims=outer or None)
        pm.Deterministic(
            f"{name}_mean",
            (p["mu"] / var0 + n_levels * levels_mean / sd**2) / precision
            + mean_z / pt.sqrt(precision),
            dims=outer or None,
        )
        if shifted is None:
            return pm.Deterministic(name, level_mean_b + deviation, dims=dims)
        shifted_levels = pm.Deterministic(free_name, level_mean_b + deviation, dims=dims)
        return pm.Deterministic(name, shifted_levels - shift, dims=dims)


def _shifted_zero_sum_normal(
    loc: pt.TensorVariable, sigma: pt.TensorVariable, size: pt.TensorVariable
) -> pt.TensorVariable:
    """Return ``loc + ZeroSumNormal(sigma)`` over the last axis (``loc`` sums to 0 on it).

    The shape follows ``sigma`` (batch, with a trailing axis of 1) and ``loc`` (levels);
    ``size`` is that shape.
    """
    return loc + pm.ZeroSumNormal.dist(sigma=sigma, support_shape=(loc.shape[-1],))


def check_carryover_identifiable(model: CrossoverModel) -> None:
    """Raise unless the study's design identifies every condition's carry-over.

    See :func:`~bayes_ketamine.models.design.unidentified_carryover`.

    Raises
    ------
    SpecError
        Naming the spec file and key, the study, its sequences and which active
        condition's carry-over is not identified.
    """
    aliased = unidentified_carryover(model.study, model.session_active())
    if aliased is None:
        return
    where = model.spec.source or f"spec {model.spec.name!r}"
    found = (
        f"{where}, key 'design.carryover': carry-over cannot be identified in study "
        f"{model.study.name!r} ({participants_file(model.study)}, column 'sequence': "
        f"{sequence_counts(model.study)})"
    )
    if not model.multi_arm:
        raise SpecError(
            f"{found}: within participants it is a combination of the period and "
            f"condition effects; {CARRYOVER_ALIASED}"
        )
    which = (
        f"the carry-over of {' and of '.join(repr(c) for c in aliased)} is, within "
        "participants, a combination of the period, condition and other carry-over effects"
        if aliased
        else "within participants the period and condition effects are combinations of one another"
    )
    raise SpecError(f"{found}: {which}; {CARRYOVER_ALIASED_ARMS}")


def response_profile(time_min: np.ndarray, tau_min: float) -> np.ndarray:
    """Return the shape of the glutamate response to the infusion over time.

    ``f(t) = 0`` before the infusion starts and ``f(t) = 1 - exp(-t / tau)`` after,
    so the amplitude is the plateau response approached during the 40-minute infusion.

    Parameters
    ----------
    time_min : numpy.ndarray
        Block midpoints in minutes from the start of the infusion.
    tau_min : float
        Time constant in minutes.

    Returns
    -------
    numpy.ndarray
        Values in ``[0, 1)``.
    """
    t = np.asarray(time_min, dtype=float)
    return np.where(t > 0, -np.expm1(-np.clip(t, 0, None) / tau_min), 0.0)
