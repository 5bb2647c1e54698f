"""Out-of-fold bookkeeping: which clips each member predicted, and proof it never trained on them.

Tuning ensemble weights on predictions for clips a member was trained on
rewards the members that memorised their training set most, which is how the
notebook study's ensemble got its weights. Here every prediction is recorded
with the rows its model was trained on, and `add` refuses it if the two
overlap, so nothing downstream can ever see an in-fold prediction.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kser.errors import KserEvaluationError
from kser.paths import atomic_write_bytes

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class FoldPredictions:
    """One member's logits `(len(rows), num_classes)` for the manifest `rows` of one fold."""

    member: str
    fold: str
    rows: np.ndarray
    logits: np.ndarray
    trained_on: np.ndarray


@dataclass(frozen=True)
class MemberLogits:
    """Out-of-fold logits of several members for the clips they all predicted.

    `logits[i, k]` is member `members[k]`'s logits for manifest row `rows[i]`,
    which `folds[i]` held out (the same fold for every member). `graph`, if
    set, holds the vectors speaker adaptation compares for each row
    (`{key: (len(rows), ...)}`, from the same out-of-fold models).
    """

    members: tuple[str, ...]
    rows: np.ndarray
    logits: np.ndarray
    folds: np.ndarray
    graph: dict | None = None

    def subset(self, mask) -> MemberLogits:
        graph = None if self.graph is None else {k: v[mask] for k, v in self.graph.items()}
        return MemberLogits(
            self.members, self.rows[mask], self.logits[mask], self.folds[mask], graph
        )


class OutOfFoldPredictions:
    """Per member and fold, the logits of the clips that fold held out.

    With a `directory`, every `add` is also written to
    `<directory>/<member>/<fold>.npz` and the constructor reads back (and
    re-checks) what is there, so an interrupted run keeps its finished folds.
    """

    def __init__(self, num_classes: int, directory=None):
        self.num_classes = num_classes
        self.directory = None if directory is None else Path(directory)
        self._records: dict[tuple[str, str], FoldPredictions] = {}
        if self.directory is not None:
            for path in sorted(self.directory.glob("*/*.npz")):
                with np.load(path) as stored:
                    self._add(
                        FoldPredictions(
                            path.parent.name,
                            path.stem,
                            stored["rows"],
                            stored["logits"],
                            stored["trained_on"],
                        )
                    )

    def add(self, member: str, fold: str, *, rows, logits, trained_on) -> None:
        """Record `member`'s `logits` for the manifest `rows` held out by `fold`.

        `trained_on`: every row that shaped the model (training and checkpoint
        selection). Raises `KserEvaluationError` if a predicted row is in it,
        if `member` already predicted a row in another fold, or on bad shapes.
        """
        record = FoldPredictions(
            member,
            fold,
            np.asarray(rows, dtype=np.int64),
            np.asarray(logits, dtype=np.float32),
            np.unique(np.asarray(trained_on, dtype=np.int64)),
        )
        self._add(record)
        if self.directory is not None:
            buffer = io.BytesIO()
            np.savez(buffer, rows=record.rows, logits=record.logits, trained_on=record.trained_on)
            atomic_write_bytes(self.directory / member / f"{fold}.npz", buffer.getvalue())

    def has(self, member: str, fold: str) -> bool:
        return (member, fold) in self._records

    @property
    def members(self) -> tuple[str, ...]:
        return tuple(sorted({member for member, _ in self._records}))

    def records(self, member: str) -> list[FoldPredictions]:
        return [record for (name, _), record in sorted(self._records.items()) if name == member]

    def member_logits(self, members) -> MemberLogits:
        """The logits of `members` for the rows every one of them predicted, sorted by row.

        Raises `KserEvaluationError` if a member has no predictions, or if two
        members held a row out in different folds (the folds must be shared
        for the combiner to be cross-fitted fold by fold).
        """
        members = tuple(members)
        per_member = {}
        for member in members:
            records = self.records(member)
            if not records:
                raise KserEvaluationError(
                    f"no out-of-fold predictions for member {member!r}; have: {self.members}"
                )
            rows = np.concatenate([r.rows for r in records])
            order = np.argsort(rows)
            per_member[member] = (
                rows[order],
                np.concatenate([r.logits for r in records])[order],
                np.concatenate([np.full(len(r.rows), r.fold) for r in records])[order],
            )
        common = per_member[members[0]][0]
        for rows, _, _ in per_member.values():
            common = np.intersect1d(common, rows)
        logits, folds = [], None
        for member in members:
            rows, member_logits, member_folds = per_member[member]
            keep = np.isin(rows, common)
            logits.append(member_logits[keep])
            if folds is None:
                folds = member_folds[keep]
            elif not np.array_equal(folds, member_folds[keep]):
                raise KserEvaluationError(
                    f"members {members[0]!r} and {member!r} held out some rows in different "
                    "folds; train every member on the same folds"
                )
        return MemberLogits(members, common, np.stack(logits, axis=1), folds)

    def _add(self, record: FoldPredictions) -> None:
        for kind, name in (("member", record.member), ("fold", record.fold)):
            if not _NAME.match(name):
                raise KserEvaluationError(
                    f"{kind} names must be letters, digits, '_', '.' or '-'. "
                    f"Received: {kind}={name!r}"
                )
        where = f"member {record.member!r}, {record.fold}"
        if record.rows.ndim != 1 or record.logits.shape != (len(record.rows), self.num_classes):
            raise KserEvaluationError(
                f"{where}: logits must have shape (len(rows), {self.num_classes}). "
                f"Received: rows {record.rows.shape}, logits {record.logits.shape}"
            )
        if len(np.unique(record.rows)) != len(record.rows):
            raise KserEvaluationError(f"{where}: a row is predicted twice")
        leaked = np.intersect1d(record.rows, record.trained_on)
        if leaked.size:
            raise KserEvaluationError(
                f"{where}: {leaked.size} predicted rows were in the member's training data "
                f"(e.g. rows {leaked[:5].tolist()}); only out-of-fold predictions may be recorded"
            )
        if (record.member, record.fold) in self._records:
            raise KserEvaluationError(f"{where}: already recorded")
        for other in self.records(record.member):
            repeated = np.intersect1d(record.rows, other.rows)
            if repeated.size:
                raise KserEvaluationError(
                    f"{where}: {repeated.size} rows were already predicted in {other.fold} "
                    f"(e.g. rows {repeated[:5].tolist()}); folds must not overlap"
                )
        self._records[(record.member, record.fold)] = record
