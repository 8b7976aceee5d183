"""The validated :class:`Study`: the one object every later stage reads.

A study is the crossover trial as long tables (one row per measurement) plus the
design coding. It is built by :func:`bayes_ketamine.data.load_study` (user files),
:func:`bayes_ketamine.data.simulate_study` (simulated) or
:func:`bayes_ketamine.data.import_nimh` (the public NIMH dataset), always after
validation, so a ``Study`` in hand is known to satisfy the data contract in
``docs/data_format.md``.

Table columns (``dtype`` after loading)
---------------------------------------
``participants``
    ``participant_id`` (str), ``sex`` (``"F"``/``"M"``), ``sequence`` (str, missing
    where not given; conditions in period order joined by ``-``), optional ``age``
    (float), and any extra columns as read (text; kept, not used by the models).
``fmrs`` (``None`` for symptom-only studies)
    ``participant_id`` (str), ``session`` (int, 1 to ``periods``), ``condition`` (str),
    ``block`` (int), ``time_min`` (float), ``glx`` (float > 0), ``crlb_pct`` (float,
    NaN where not given), extra columns kept.
``symptoms``
    ``participant_id`` (str), ``session`` (int), ``condition`` (str), ``timepoint``
    (str), ``hours`` (float), ``scale`` (str), ``score`` (pandas ``Int64``; ``<NA>``
    is a missing rating, kept as missing), extra columns kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bayes_ketamine.data.metadata import DEFAULT_PERIODS
from bayes_ketamine.data.summary import StudySummary, summarise_study
from bayes_ketamine.digests import sha256_hex

if TYPE_CHECKING:
    import xarray as xr

SEXES: tuple[str, str] = ("F", "M")
"""Sex labels in their coordinate order."""


@dataclass(frozen=True)
class Study:
    """A validated crossover study (two periods unless ``study.toml`` says more).

    Parameters
    ----------
    name : str
        Human-readable study name.
    simulated : bool
        ``True`` for generated data; every output derived from the study says so.
    conditions : tuple of str
        The condition labels (two or more), reference condition first
        (e.g. ``("placebo", "naltrexone")``).
    participants, fmrs, symptoms : pandas.DataFrame
        The long tables described in the module docstring; ``fmrs`` may be ``None``.
    metadata : dict
        The full ``study.toml`` content (``fmrs.metabolite``, ``symptoms.scale``,
        ``symptoms.min``, ``symptoms.max``, and for simulated studies the
        ``simulation`` table of generating parameters).
    source : pathlib.Path or None
        Folder the study was read from, if any.
    design_timepoints : pandas.DataFrame or None
        The symptom timepoints of the study this one was selected from
        (:meth:`select_participants`), returned by :meth:`timepoints` instead of
        those of its own ratings; ``None`` for a whole study.
    """

    name: str
    simulated: bool
    conditions: tuple[str, ...]
    participants: pd.DataFrame
    fmrs: pd.DataFrame | None
    symptoms: pd.DataFrame
    metadata: dict[str, Any] = field(default_factory=dict)
    source: Path | None = None
    design_timepoints: pd.DataFrame | None = None

    @property
    def reference_condition(self) -> str:
        """The reference condition (first in ``conditions``)."""
        return self.conditions[0]

    @property
    def active_condition(self) -> str:
        """The (first) active condition contrasted against the reference."""
        return self.conditions[1]

    @property
    def active_conditions(self) -> tuple[str, ...]:
        """Every condition but the reference, each contrasted against it."""
        return self.conditions[1:]

    @property
    def periods(self) -> int:
        """Number of crossover periods (``periods`` of ``study.toml``, or DEFAULT_PERIODS)."""
        return int(self.metadata.get("periods", DEFAULT_PERIODS))

    @property
    def participant_ids(self) -> list[str]:
        """Participant identifiers in coordinate order."""
        return self.participants["participant_id"].tolist()

    @property
    def symptom_scale(self) -> str:
        """Name of the symptom scale (e.g. ``"MADRS"``)."""
        return str(self.metadata.get("symptoms", {}).get("scale", "MADRS"))

    @property
    def symptom_bounds(self) -> tuple[float, float]:
        """Lower and upper bound of the symptom scale."""
        sym = self.metadata.get("symptoms", {})
        return float(sym.get("min", 0)), float(sym.get("max", 60))

    @property
    def has_fmrs(self) -> bool:
        """Whether the study has fMRS blocks."""
        return self.fmrs is not None and len(self.fmrs) > 0

    def sessions(self) -> pd.DataFrame:
        """Return one row per participant-session that has any measurement.

        Returns
        -------
        pandas.DataFrame
            Columns ``participant_id``, ``session``, ``condition``, sorted by
            participant (coordinate order) then session.
        """
        parts = [self.symptoms[["participant_id", "session", "condition"]]]
        if self.fmrs is not None:
            parts.append(self.fmrs[["participant_id", "session", "condition"]])
        sessions = pd.concat(parts).drop_duplicates(["participant_id", "session"])
        order = {pid: i for i, pid in enumerate(self.participant_ids)}
        sessions = sessions.assign(_order=sessions["participant_id"].map(order))
        sessions = sessions.sort_values(["_order", "session"]).drop(columns="_order")
        return sessions.reset_index(drop=True)

    def timepoints(self) -> pd.DataFrame:
        """Return the symptom timepoints ordered by time from infusion.

        Returns
        -------
        pandas.DataFrame
            Columns ``timepoint`` and ``hours`` (median over ratings), one row per
            label, with ``baseline`` true for ratings before the infusion; for a
            selection of participants, those of the whole study (``design_timepoints``).
        """
        if self.design_timepoints is not None:
            return self.design_timepoints.copy()
        tp = self.symptoms.groupby("timepoint", sort=False)["hours"].median()
        tp = tp.sort_values().reset_index()
        tp["baseline"] = tp["hours"] < 0
        return tp

    def to_xarray(self) -> xr.Dataset:
        """Return the study as an xarray Dataset with named dimensions.

        Dimensions are ``participant``, ``session`` (1 to ``periods``), ``timepoint`` and, where the
        study has fMRS, ``block``. Missing cells are NaN; nothing is dropped.

        Returns
        -------
        xarray.Dataset
            Variables ``sex`` (participant), ``condition`` (participant, session),
            ``score`` (participant, session, timepoint) and, with fMRS, ``glx`` and
            ``time_min`` (participant, session, block).
        """
        pids = self.participant_ids
        sessions = list(range(1, self.periods + 1))
        coords: dict[str, Any] = {"participant": pids, "session": sessions}
        sex = self.participants.set_index("participant_id")["sex"].reindex(pids)
        cond = (
            self.sessions()
            .set_index(["participant_id", "session"])["condition"]
            .reindex(pd.MultiIndex.from_product([pids, sessions]))
        )
        data_vars: dict[str, Any] = {
            "sex": ("participant", sex.to_numpy(dtype=object)),
            "condition": (
                ("participant", "session"),
                cond.to_numpy(dtype=object).reshape(len(pids), len(sessions)),
            ),
        }
        timepoints = self.timepoints()["timepoint"].tolist()
        coords["timepoint"] = timepoints
        score = (
            self.symptoms.set_index(["participant_id", "session", "timepoint"])["score"]
            .astype("Float64")
            .reindex(pd.MultiIndex.from_product([pids, sessions, timepoints]))
            .to_numpy(dtype=float, na_value=np.nan)
        )
        data_vars["score"] = (
            ("participant", "session", "timepoint"),
            score.reshape(len(pids), len(sessions), len(timepoints)),
        )
        if self.fmrs is not None:
            blocks = sorted(self.fmrs["block"].unique().tolist())
            coords["block"] = blocks
            index = pd.MultiIndex.from_product([pids, sessions, blocks])
            indexed = self.fmrs.set_index(["participant_id", "session", "block"])
            for var in ("glx", "time_min"):
                values = indexed[var].reindex(index).to_numpy(dtype=float)
                data_vars[var] = (
                    ("participant", "session", "block"),
                    values.reshape(len(pids), len(sessions), len(blocks)),
                )
        import xarray as xr  # only here: reading a study stays free of xarray's import

        ds = xr.Dataset(data_vars, coords=coords)
        ds.attrs.update(
            name=self.name,
            simulated=int(self.simulated),
            conditions=list(self.conditions),
            symptom_scale=self.symptom_scale,
        )
        return ds

    def summary(self) -> StudySummary:
        """Return counts of participants, periods, measurements and missing scores.

        Returns
        -------
        StudySummary
            Small tables (pandas DataFrames); ``str()`` of it is a plain-text report.
        """
        return summarise_study(self)

    def select_participants(self, participant_ids: Iterable[str], name: str) -> Study:
        """Return the study of only the given participants (for cross-validation folds).

        Parameters
        ----------
        participant_ids : iterable of str
            Participants to keep; they keep the study's coordinate order.
        name : str
            Name of the new study (e.g. ``"<study> without sim-003"``).

        Returns
        -------
        Study
            Same conditions, metadata, simulated flag and source; every table
            restricted to the participants' rows. Its :meth:`timepoints` are this
            study's, so a model of the selection has the design of a model of the
            whole study (e.g. a held-out participant rated only at baseline, or never
            at a later timepoint).

        Raises
        ------
        ValueError
            If an identifier is not a participant of the study, or none is given.

        Examples
        --------
        >>> from bayes_ketamine.data import default_study
        >>> study = default_study()
        >>> study.select_participants(["sim-002", "sim-001"], "two").participant_ids
        ['sim-001', 'sim-002']
        """
        keep = list(dict.fromkeys(participant_ids))
        unknown = sorted(set(keep) - set(self.participant_ids))
        if unknown:
            raise ValueError(f"{self.name}: no participant(s) {', '.join(unknown)}")
        if not keep:
            raise ValueError(f"{self.name}: no participant selected")

        def rows(table: pd.DataFrame | None) -> pd.DataFrame | None:
            if table is None:
                return None
            return table[table["participant_id"].isin(keep)].reset_index(drop=True)

        return replace(
            self,
            name=name,
            participants=rows(self.participants),
            fmrs=rows(self.fmrs),
            symptoms=rows(self.symptoms),
            design_timepoints=self.timepoints(),
        )

    def content_hash(self) -> str:
        """Return a SHA-256 hash of the study's tables and design coding.

        The hash identifies the data in artifact provenance: any change to any cell,
        row order, label or condition coding changes it.

        Returns
        -------
        str
            Hex digest.
        """
        parts = [repr((self.name, self.simulated, self.conditions))]
        for table in (self.participants, self.fmrs, self.symptoms):
            parts.append("<none>" if table is None else table.to_csv(index=False))
        if self.design_timepoints is not None:
            parts.append(self.design_timepoints.to_csv(index=False))
        return sha256_hex("".join(parts))
