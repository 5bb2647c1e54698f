"""Members joined into one ensemble bundle: the combiner tuned and fitted on out-of-fold
logits, then its temperatures."""

from __future__ import annotations

import keras
import numpy as np

from kser.ensemble.combiner import combined_logits, fit_combiner, fit_temperature, uar_of_logits
from kser.ensemble.members import ENSEMBLE_ADAPTATION, ensemble_bundle
from kser.ensemble.tuning import AdaptedUar, tune_combiner
from kser.evaluation.calibration import calibrating_temperature


def join_members(corpus, member_logits, finals, tuner_dir, *, max_trials: int, seed: int):
    """Tune and fit the combiner on out-of-fold logits; the ensemble bundle of the final members.

    Args:
        corpus: the `kser.data.Corpus` the rows of `member_logits` index.
        member_logits: the members' `MemberLogits` (out of fold), with the
            graph vectors to adapt on when the members adapt to each speaker.
        finals: `{member name: Bundle}`, the models the ensemble joins.
        tuner_dir: KerasTuner's directory (resumable trials).

    Returns the bundle and what the development (out-of-fold) data says about it.
    """
    labels = np.asarray(corpus.label_indices)[member_logits.rows]
    # Scored as the bundle will predict: adapted to each speaker when its members adapt.
    score = uar_of_logits
    if member_logits.graph is not None:
        speakers = corpus.manifest["speaker"].astype(str).to_numpy()[member_logits.rows]
        score = AdaptedUar(ENSEMBLE_ADAPTATION, member_logits.graph, speakers)
    tuned = tune_combiner(
        member_logits, labels, tuner_dir, max_trials=max_trials, seed=seed, score=score
    )
    combiner = fit_combiner(member_logits.logits, labels, **tuned.arguments)
    # The members' logits are out of fold; the combiner's K weights barely overfit thousands
    # of clips, so its own fit's outputs are held-out enough for one temperature.
    combined = combined_logits(combiner, member_logits.logits)
    temperature = fit_temperature(combined, labels)
    # Adaptation averages over neighbours, which flattens the calibrated probabilities
    # again: its own temperature, fitted the same way on the adapted ones.
    adaptation_temperature = 1.0
    if member_logits.graph is not None:
        adapted = score.adapted(combined / temperature)
        adaptation_temperature = calibrating_temperature(adapted, labels) or 1.0
    bundle = ensemble_bundle(
        finals,
        normalization=tuned.arguments["normalization"],
        l1=tuned.arguments["l1"],
        weight_logits=keras.ops.convert_to_numpy(combiner.weight_logits),
        temperature=temperature,
        adaptation_temperature=adaptation_temperature,
        info={
            "model": {"name": "weighted_ensemble", "members": list(finals)},
            "combiner": {
                **tuned.arguments,
                "temperature": temperature,
                "adaptation_temperature": adaptation_temperature,
            },
            "corpus": corpus.source,
        },
    )
    development = {
        "n_clips": int(len(member_logits.rows)),
        # Each member scored as the tuner scores the ensemble (adapted on the same graph).
        "member_uar": {
            name: score(member_logits.logits[:, k], labels)
            for k, name in enumerate(member_logits.members)
        },
        "scored_with_speaker_adaptation": member_logits.graph is not None,
        "ensemble_uar_cross_fitted": tuned.uar,
        "tuning": {"best": tuned.arguments, "trials": tuned.trials},
    }
    return bundle, development
