"""`attack_sweep`: a bundle's UAR and accuracy under attack, for each method and eps.

Two domains:

- "feature": the attack moves the model's input, the normalized features, so
  eps is in normalized-feature units (standard deviations of each bin over
  the training clips, for the usual "speaker+global" normalization).
  Adversarial inputs go straight to the model.
- "waveform": the attack moves the audio samples (eps: the largest change of
  a sample, full scale 1.0, also given in dBFS), through the extractor
  (`kser.adversarial.waveform`). Adversarial audio is then scored as any
  audio is: features extracted, normalized with the statistics of the
  (adversarial) clips of each speaker, `Bundle.predict_features`.

Scores are without speaker adaptation (the attack targets the model; the
smoothing over a speaker's other clips is a separate defence), so the clean
row is exactly `kser evaluate BUNDLE --no-speaker-adaptation` on the same clips,
computed by the same code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import keras
import numpy as np
from tqdm.auto import tqdm

from kser.adversarial.attacks import Attack
from kser.adversarial.gradients import input_gradient
from kser.adversarial.waveform import SAMPLE_BOUNDS, WaveformChain, signal_to_perturbation_db
from kser.data.audio import load_clip
from kser.errors import KserBundleError
from kser.evaluation import evaluate
from kser.training.trainer import log_softmax

DOMAINS = ("feature", "waveform")
ATTACK_BATCH = 32


@dataclass
class SweepPoint:
    """One attack's scores: an `EvaluationResult`, the mean loss, the measured L-infinity
    norm of the perturbation and, in the waveform domain, each clip's signal-to-perturbation
    ratio in dB."""

    attack: Attack
    result: object
    mean_loss: float
    linf: float
    snr_db: np.ndarray | None = None


@dataclass
class AttackSweep:
    """Clean scores, one `SweepPoint` per attack, and the first clips' clean and adversarial
    inputs (`examples`: attack -> array; normalized features or waveforms) for figures and WAVs.
    """

    domain: str
    clean: object
    clean_loss: float
    points: list[SweepPoint]
    rows: np.ndarray
    example_positions: np.ndarray
    clean_examples: np.ndarray
    examples: dict = field(default_factory=dict)
    context: dict = field(default_factory=dict)


def attack_sweep(
    bundle,
    corpus,
    rows,
    attacks,
    *,
    domain: str = "feature",
    n_examples: int = 3,
    seed: int = 0,
    progress: bool = True,
) -> AttackSweep:
    """Score `bundle` on the `rows` of `corpus`, clean and under each of `attacks`.

    Args:
        bundle: a single-input `kser.training.Bundle`.
        corpus: a `kser.data.Corpus` whose labels the bundle knows.
        rows: the manifest rows to attack (e.g. `bundle.split_rows(corpus, "test")`).
        attacks: `Attack`s; eps in normalized-feature units ("feature") or in
            full-scale sample units ("waveform").
        domain: "feature" or "waveform".
        n_examples: clips whose adversarial versions are kept: the first clip of
            each class in turn.
        seed: the bootstrap's seed, as `kser evaluate`'s.
    """
    from kser.features.pipeline import extract_features

    if domain not in DOMAINS:
        raise ValueError(f"domain must be one of {DOMAINS}. Received: domain={domain!r}")
    if not bundle.single_input:
        raise KserBundleError(
            f"{bundle.directory}: attacks take single-input bundles; this one has inputs "
            f"{', '.join(bundle.extractors)}"
        )
    plain = bundle.with_speaker_adaptation(None)
    rows = np.asarray(rows)
    feature_set = extract_features(
        corpus.manifest, bundle.extractor, clip_seconds=bundle.clip_seconds, progress=progress
    )
    clean = plain.evaluate(corpus, rows, feature_set=feature_set, seed=seed)
    manifest = corpus.manifest.iloc[rows]
    speakers = manifest["speaker"].astype(str).to_numpy()
    labels = np.array([bundle.labels.index(e) for e in manifest["emotion"]], dtype=np.int32)
    scoring = _Scoring(plain, manifest, speakers, labels, seed)
    raw = feature_set.as_numpy()[rows]
    normalized = bundle.normalizer.transform(raw, speakers)
    kept = example_positions(labels, n_examples)
    sweep = AttackSweep(
        domain=domain,
        clean=clean,
        clean_loss=_mean_loss(clean.y_prob, labels),
        points=[],
        rows=rows,
        example_positions=kept,
        clean_examples=normalized[kept],
        context={"raw_features": raw, "speakers": speakers, "labels": labels},
    )
    if domain == "waveform":
        waves = _decode(manifest["path"], bundle, progress)
        chain = WaveformChain(bundle, waves, speakers)
        sweep.clean_examples = waves[kept]
        sweep.context["chain"] = chain
    feature_gradient = _model_gradient(bundle.model)
    for attack in attacks:
        description = f"{attack.method} eps={attack.eps:g}"
        if domain == "feature":
            adversarial = _attack_in_batches(
                attack,
                lambda positions: feature_gradient,
                normalized,
                labels,
                bounds=None,
                description=description,
                progress=progress,
            )
            probabilities = scoring.model_probabilities(adversarial)
            linf = float(np.max(np.abs(adversarial - normalized)))
            snr = None
        else:
            adversarial = _attack_in_batches(
                attack,
                chain.gradient_at,
                waves,
                labels,
                bounds=SAMPLE_BOUNDS,
                description=description,
                progress=progress,
            )
            probabilities = plain.predict_features(bundle._extract(adversarial), speakers)
            linf = float(np.max(np.abs(adversarial - waves)))
            snr = signal_to_perturbation_db(waves, adversarial)
        point = SweepPoint(
            attack, scoring.result(probabilities), _mean_loss(probabilities, labels), linf, snr
        )
        sweep.points.append(point)
        sweep.examples[attack] = adversarial[kept]
    return sweep


def example_positions(labels: np.ndarray, n: int) -> np.ndarray:
    """`n` positions: the first clip of each class (in class order), then the second, ..."""
    order = np.argsort(labels, kind="stable")
    rank = np.empty(len(labels), dtype=np.int64)
    for label in np.unique(labels):
        members = order[labels[order] == label]
        rank[members] = np.arange(len(members))
    chosen = np.lexsort((labels, rank))[:n]
    return np.sort(chosen)


class _Scoring:
    """Scores probabilities exactly as `Bundle.evaluate` does (same metadata, same seed)."""

    def __init__(self, bundle, manifest, speakers, labels, seed):
        self.bundle, self.manifest, self.speakers, self.labels = bundle, manifest, speakers, labels
        self.seed = seed

    def model_probabilities(self, normalized: np.ndarray) -> np.ndarray:
        # As `Bundle.predict_features` without adaptation: the same predict call and softmax.
        logits = self.bundle.model.predict(normalized, batch_size=ATTACK_BATCH, verbose=0)
        return np.exp(log_softmax(keras.ops.convert_to_numpy(logits)))

    def result(self, probabilities: np.ndarray):
        return evaluate(
            self.manifest["emotion"].to_numpy(),
            probabilities,
            self.bundle.labels,
            speakers=self.speakers,
            genders=self.manifest["gender"].astype(str).to_numpy(),
            clip_ids=self.manifest["path"].tolist(),
            seed=self.seed,
        )


def _model_gradient(model):
    return lambda inputs, labels: input_gradient(model, inputs, labels)


def _attack_in_batches(attack, gradient_for, inputs, labels, *, bounds, description, progress):
    """`attack` on `inputs` batch by batch; `gradient_for(positions)` gives each batch's
    gradient function (positions: the batch's rows of `inputs`)."""
    batches = range(0, len(inputs), ATTACK_BATCH)
    adversarial = []
    for start in tqdm(batches, desc=description, disable=not progress, leave=False):
        positions = np.arange(start, min(start + ATTACK_BATCH, len(inputs)))
        perturbed = attack.perturb(
            gradient_for(positions), inputs[positions], labels[positions], bounds=bounds
        )
        adversarial.append(keras.ops.convert_to_numpy(perturbed))
    return np.concatenate(adversarial).astype(np.float32)


def _decode(paths, bundle, progress: bool) -> np.ndarray:
    """The clips as the feature cache decodes them: centre-cropped or padded, `(n, n_samples)`."""
    return np.stack(
        [
            load_clip(path, bundle.sample_rate, bundle.clip_seconds, mode="center")
            for path in tqdm(list(paths), desc="decoding clips", disable=not progress, leave=False)
        ]
    )


def _mean_loss(probabilities: np.ndarray, labels: np.ndarray) -> float:
    chosen = np.clip(probabilities[np.arange(len(labels)), labels], 1e-12, None)
    return float(-np.mean(np.log(chosen)))
