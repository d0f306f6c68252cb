"""The series one process holds when several train one model together, and what they agree on.

With `--distribute multiworker` on a long file (`--id-col`), each worker reads only the series
whose id hashes to it (`forecaster.data.panel.owner`: CRC-32 of the id as text, modulo the
workers) and never holds another's rows. Every decision that one process makes from all the
series (where the splits fall, the seasons, the window, which series are long enough, each
representation's shared anchors, the ridge's sums, the validation errors that choose the members
and calibrate the intervals) is made by every worker from the same gathered numbers: per-series
statistics (a few numbers per series) and sums, never rows. The file order of the series (the row
of each one's first row) puts what is gathered back in the order one process would hold it, so
the model is the one a single worker trains on the whole file, up to the order of float sums.

    share = Share.of(panel, worker.gather)     # panel: this worker's series (`read_panel(share=)`)
    whole = share.outline(panel)                # every series' ids, starts and lengths; no rows
    scale = share.merge(local_scale)            # (series of the file,) in file order

One process is `Share.alone(panel)`: every operation is the identity, and nothing is gathered.
"""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecaster.data import Panel
from forecaster.errors import UserError


@dataclass
class Outline(Panel):
    """Every series of the file as the workers together hold them: ids, starts, lengths, statics,
    what was left out and the missing values counted; no rows (`raw` has none). What the
    decisions over all series read (`time_splits`, `resolve_window`, spans, the bundle's metadata)."""

    missing: int = 0  # missing target values over every series

    @property
    def missing_values(self) -> int:
        return self.missing

    def select(self, keep) -> Outline:
        keep = np.flatnonzero(keep) if np.asarray(keep).dtype == bool else np.asarray(keep, dtype=int)
        lengths = self.lengths[keep]
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        return Outline(self.schema, self.source, [self.ids[k] for k in keep], self.starts[keep],
                       offsets, self.raw, self.missing_timestamps[keep], list(self.left_out),
                       {name: values[keep] for name, values in self.statics.items()},
                       self.empty_rows, None, missing=self.missing)


class Share:
    """Which of the file's series this process holds (`positions`: each one's place among all of
    them, in file order) and how to gather from the other processes (`gather`: any picklable
    object -> the list of every worker's, in worker order)."""

    def __init__(self, positions: np.ndarray, total: int, gather=None, owners=None):
        self.positions = np.asarray(positions, dtype=np.int64)
        self.total = total
        self.owners = np.zeros(total, dtype=np.int64) if owners is None else owners  # (total,)
        self._gather = gather
        self._outline = None

    @classmethod
    def alone(cls, panel: Panel) -> Share:
        """One process holding every series: nothing to gather."""
        return cls(np.arange(len(panel)), len(panel))

    @classmethod
    def of(cls, panel: Panel, gather) -> Share:
        """This worker's share of a panel read with `read_panel(share=...)`."""
        orders = gather(np.asarray(panel.order, dtype=np.int64))
        everything = np.sort(np.concatenate(orders))
        owners = np.empty(len(everything), dtype=np.int64)
        for worker, found in enumerate(orders):
            owners[np.searchsorted(everything, found)] = worker
        share = cls(np.searchsorted(everything, panel.order), len(everything), gather, owners)
        if not all(len(found) for found in orders):
            empty = [k for k, found in enumerate(orders) if not len(found)]
            raise UserError(
                f"{panel.source} holds {len(everything)} series over {len(orders)} workers, and "
                f"the ids of none hash to worker{'s' if len(empty) > 1 else ''} "
                f"{', '.join(map(str, empty))}; run on fewer workers (each needs a series of its "
                f"own), or without --distribute multiworker.")
        return share

    @property
    def alone_(self) -> bool:
        return self._gather is None

    def check_each_holds(self, keep, source: str, what: str) -> None:
        """A UserError, the same on every worker, unless each worker holds at least one of the
        series `keep` ((series of the file,) bool) marks."""
        held = np.bincount(self.owners[np.asarray(keep, dtype=bool)], minlength=int(self.owners.max()) + 1)
        if not self.alone_ and not held.all():
            empty = np.flatnonzero(held == 0)
            raise UserError(
                f"worker{'s' if len(empty) > 1 else ''} {', '.join(map(str, empty))} of "
                f"{len(held)} hold{'s' if len(empty) == 1 else ''} no series of {source} {what} "
                f"(each worker trains on the series whose id hashes to it); run on fewer workers.")

    def gather(self, value) -> list:
        """Every worker's `value`, in worker order ([value] for one process)."""
        return [value] if self._gather is None else self._gather(value)

    def total_of(self, value):
        """The sum over workers of `value` (a number, an array or anything with +), added in
        worker order; `value` itself for one process."""
        return value if self._gather is None else functools.reduce(operator.add, self.gather(value))

    def merge(self, values) -> np.ndarray:
        """(series of the file, ...) from (this worker's series, ...): every worker's values put
        in file order. `values` itself for one process."""
        values = np.asarray(values)
        if self._gather is None:
            return values
        parts = self.gather((self.positions, values))
        merged = np.empty((self.total, *values.shape[1:]), dtype=values.dtype)
        for positions, found in parts:
            merged[positions] = found
        return merged

    def merge_list(self, values: list) -> list:
        """`merge` for a list of Python objects, one per series."""
        if self._gather is None:
            return list(values)
        merged = [None] * self.total
        for positions, found in self.gather((self.positions, list(values))):
            for position, value in zip(positions, found, strict=True):
                merged[position] = value
        return merged

    def local(self, values) -> np.ndarray:
        """This worker's rows of a (series of the file, ...) array."""
        return np.asarray(values)[self.positions]

    def local_series(self, series) -> np.ndarray:
        """(n,) the local index of each of `series` (places among all the file's), -1 where this
        worker does not hold it."""
        lookup = np.full(self.total, -1, dtype=np.int64)
        lookup[self.positions] = np.arange(len(self.positions))
        return lookup[np.asarray(series, dtype=np.int64)]

    def merge_items(self, count: int, mine: np.ndarray, values) -> np.ndarray:
        """(count, ...) from the items `mine` (indices into count, this worker's) and their
        `values`: each worker's items put in place. `values` itself for one process."""
        values = np.asarray(values)
        if self._gather is None:
            return values
        merged = np.full((count, *values.shape[1:]), np.nan, dtype=values.dtype)
        for indices, found in self.gather((np.asarray(mine), values)):
            merged[indices] = found
        return merged

    def select(self, keep) -> Share:
        """The share of the series `keep` ((series of the file,) bool) among those kept."""
        keep = np.asarray(keep, dtype=bool)
        if self._gather is None:
            return Share(np.arange(int(keep.sum())), int(keep.sum()))
        rank = np.cumsum(keep) - 1
        return Share(rank[self.positions[keep[self.positions]]], int(keep.sum()), self._gather,
                     self.owners[keep])

    def outline(self, panel: Panel) -> Panel:
        """Every series of the file, without rows (`Outline`); `panel` itself for one process."""
        if self._gather is None:
            return panel
        if self._outline is None:
            part = {"left_out": panel.left_out, "missing": panel.missing_values,
                    "empty_rows": panel.empty_rows}
            parts = self.gather(part)
            ids = self.merge_list(panel.ids)
            starts = pd.DatetimeIndex(self.merge(panel.starts.asi8).view(f"M8[{panel.starts.unit}]"),
                                      name=panel.starts.name)
            if panel.starts.tz is not None:
                starts = starts.tz_localize("UTC").tz_convert(panel.starts.tz)
            lengths = self.merge(panel.lengths)
            statics = {name: self.merge(np.asarray(values)) for name, values in panel.statics.items()}
            self._outline = Outline(
                panel.schema, panel.source, ids, starts,
                np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
                np.zeros((0, panel.raw.shape[1]), dtype=panel.raw.dtype),
                self.merge(panel.missing_timestamps),
                [item for found in parts for item in found["left_out"]], statics,
                int(sum(found["empty_rows"] for found in parts)), None,
                missing=int(sum(found["missing"] for found in parts)))
        return self._outline


def agreed(gather, function):
    """`function()` on every worker, or on every worker the first UserError that any of them
    raised (`gather`: `Worker.gather`), so that none is left waiting for the others."""
    try:
        result, failure = function(), None
    except UserError as error:
        result, failure = None, str(error)
    failures = [found for found in gather(failure) if found is not None]
    if failures:
        raise UserError(failures[0])
    return result
