"""The ensemble and each of its members scored on one test split, and reported."""

from __future__ import annotations

import dataclasses

import keras

from kser.ensemble.plots import weights_png
from kser.evaluation import plots, write_report
from kser.paths import atomic_write_bytes


def score_on_test(corpus, split, bundle, finals, feature_sets, directory, seed: int) -> dict:
    """Score the ensemble (before and after temperature) and each member on `split.test`.

    Writes the ensemble's report into `directory`, with
    reliability_before_temperature.png and weights.png; returns the scores
    ensemble.json records.
    """
    temperature = float(keras.ops.convert_to_numpy(bundle.model.combiner.temperature))
    adaptation = bundle.speaker_adaptation
    used_sets = {feature: feature_sets[feature] for feature in bundle.extractors}

    def ensemble_at(calibrated: bool):
        """The test result with the fitted temperatures, or with both at 1."""
        bundle.model.combiner.set_temperature(temperature if calibrated else 1.0)
        scored = bundle
        if adaptation is not None and not calibrated:
            uncalibrated = dataclasses.replace(adaptation, temperature=1.0)
            scored = bundle.with_speaker_adaptation(uncalibrated)
        return scored.evaluate(corpus, split.test, feature_set=used_sets, seed=seed)

    before, after = ensemble_at(False), ensemble_at(True)
    member_results = {
        name: member.evaluate(
            corpus, split.test, feature_set=feature_sets[member.extractor.name], seed=seed
        )
        for name, member in finals.items()
    }
    best = max(member_results, key=lambda name: member_results[name].uar)
    weights = bundle.model.mixing_weights()
    write_report(
        after,
        directory,
        title=f"Weighted ensemble ({', '.join(finals)}) — {split.name}",
        metadata={
            "members": list(finals),
            "protocol": split.protocol,
            "combiner": bundle.info["combiner"],
            "weights": weights,
            "member_uar": {name: result.uar for name, result in member_results.items()},
            "ece_before_temperature": before.ece,
        },
    )
    atomic_write_bytes(
        directory / "reliability_before_temperature.png", plots.reliability_png(before)
    )
    normalization = bundle.model.normalization
    atomic_write_bytes(
        directory / "weights.png", weights_png(weights, f"Learned weights ({normalization})")
    )
    return {
        "ensemble": headline_scores(after),
        "members": {name: headline_scores(result) for name, result in member_results.items()},
        "best_member": best,
        "uar_gain_over_best_member": after.uar - member_results[best].uar,
        "weights": weights,
        "temperature": temperature,
        "adaptation_temperature": None if adaptation is None else adaptation.temperature,
        "ece_before_temperature": before.ece,
        "ece_after_temperature": after.ece,
    }


def headline_scores(result) -> dict:
    """UAR, accuracy (each with its CI), macro-F1 and ECE of an `EvaluationResult`."""
    return {
        "uar": result.uar,
        "uar_ci": list(result.uar_ci) if result.uar_ci else None,
        "accuracy": result.accuracy,
        "accuracy_ci": list(result.accuracy_ci) if result.accuracy_ci else None,
        "macro_f1": result.macro_f1,
        "ece": result.ece,
    }


def format_summary(summary: dict) -> str:
    """A split's ensemble.json as text: every model's scores, the weights, the temperatures."""
    lines = [f"{summary['split']} (test speakers {', '.join(summary['test_speakers'])}):"]
    for name, scores in [("ensemble", summary["ensemble"]), *summary["members"].items()]:
        interval = scores["uar_ci"]
        lines.append(
            f"  {name:20} UAR {scores['uar']:.3f} [{interval[0]:.3f}, {interval[1]:.3f}]  "
            f"accuracy {scores['accuracy']:.3f}  macro-F1 {scores['macro_f1']:.3f}"
        )
    weights = ", ".join(f"{name} {w:.3f}" for name, w in summary["weights"].items())
    lines.append(
        f"  gain over best member ({summary['best_member']}): "
        f"{summary['uar_gain_over_best_member']:+.3f} UAR; weights: {weights}; "
        f"temperature {summary['temperature']:.2f}"
        + (
            f" (after adaptation {summary['adaptation_temperature']:.2f})"
            if summary["adaptation_temperature"] is not None
            else ""
        )
        + f", ECE {summary['ece_before_temperature']:.3f} -> {summary['ece_after_temperature']:.3f}"
    )
    return "\n".join(lines)
