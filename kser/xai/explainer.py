"""Explain a bundle's predictions on audio clips: which parts of its input it listened to.

    from kser.xai.explainer import explain_files
    explanations, parts = explain_files(bundle, ["clip.wav"], methods=("gradcam", "ig"))

Each clip is centre-cropped or padded to the bundle's clip length (as in
training) and normalized by the bundle; all clips given together count as one
speaker, as `Bundle.predict_files` treats them. The maps live in the model's
input space (normalized features): `(n_bins, n_frames)` over time and
frequency for models over frames, `(n_values, 1)` for utterance functionals.

An ensemble (`WeightedEnsemble`) is explained member by member, each on its
own input; its combined map of a member's input is that member's map times the
member's weight in the mix over the temperature (exact for `ig` and `lrp`,
whose maps add up through the linear combiner; a ranking for the others).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import keras
import numpy as np

from kser.data.audio import load_clip
from kser.errors import KserExplainError
from kser.inference.bundle import audio_files
from kser.xai.lrp import lrp
from kser.xai.method_names import DEFAULT_METHODS, METHODS
from kser.xai.methods import LRP_RULES, attribute
from kser.xai.segments import input_segmentation


@dataclass
class ExplainedPart:
    """One model input and the single-input model that reads it (the bundle's model, or
    an ensemble member), with the member's share of the ensemble's logits."""

    name: str
    model: object
    extractor: object
    inputs: np.ndarray
    weight: float = 1.0

    @property
    def segmentation(self):
        return input_segmentation(self.extractor, self.inputs.shape[1:])


@dataclass
class ClipExplanation:
    """What `explain_files` found for one clip: per part and method, a map of the part's
    input shape; the seconds each method took; why a method could not run."""

    path: str
    labels: tuple[str, ...]
    probabilities: np.ndarray
    target: int
    maps: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    conservation_error: dict[str, float] = field(default_factory=dict)

    @property
    def emotion(self) -> str:
        return self.labels[int(np.argmax(self.probabilities))]


def explained_parts(bundle, waveforms):
    """`(parts, model_inputs)`: each model input of `waveforms` `(n, clip_samples)`,
    normalized as one speaker, with the model (or ensemble member) that reads it; and the
    inputs as the bundle's model takes them (an array, or a dict for an ensemble)."""
    features = bundle._extract(np.asarray(waveforms, dtype="float32"))
    speakers = np.zeros(len(waveforms), dtype=np.int64)
    bundle._warn_about_small_speaker_groups(speakers)
    if bundle.single_input:
        inputs = bundle.normalizer.transform(features, speakers)
        part = ExplainedPart(bundle.extractor.name, bundle.model, bundle.extractor, inputs)
        return [part], inputs
    model = bundle.model
    inputs = {
        name: bundle.normalizers[name].transform(values, speakers)
        for name, values in features.items()
    }
    weights = model.mixing_weights()
    temperature = float(keras.ops.convert_to_numpy(model.combiner.temperature))
    parts = [
        ExplainedPart(
            member.name,
            member,
            bundle.extractors[feature],
            inputs[feature],
            weights[member.name] / temperature,
        )
        for member, feature in zip(model.members, model.feature_names, strict=True)
    ]
    return parts, inputs


def resolve_target(target, labels, probabilities) -> np.ndarray:
    """Class index per clip: `"predicted"` (each clip's argmax) or an emotion name."""
    if target in (None, "predicted"):
        return np.argmax(probabilities, axis=1)
    if target not in labels:
        raise KserExplainError(
            f"--target must be 'predicted' or one of the bundle's emotions "
            f"({', '.join(labels)}). Received: {target!r}"
        )
    return np.full(len(probabilities), labels.index(target))


def explain_files(bundle, paths, methods=DEFAULT_METHODS, target="predicted", seed: int = 0,
                  progress=None):  # fmt: skip
    """`(explanations, parts)`: a `ClipExplanation` per audio file in `paths` (files or
    folders) for each of `methods`, and the `ExplainedPart`s (inputs) they explain.

    A method that cannot explain this model (Grad-CAM without feature maps, LRP
    through an LSTM) is listed in `skipped` with the reason. `progress(text)`, if
    given, hears of each step."""
    unknown = [method for method in methods if method not in METHODS]
    if unknown or not methods:
        raise KserExplainError(
            f"methods must be among {', '.join(METHODS)}. Received: {', '.join(methods) or 'none'}"
        )
    files = audio_files(paths)
    waveforms = np.stack(
        [load_clip(path, bundle.sample_rate, bundle.clip_seconds) for path in files]
    )
    parts, model_inputs = explained_parts(bundle, waveforms)
    logits = keras.ops.convert_to_numpy(bundle.model.predict(model_inputs, verbose=0))
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    targets = resolve_target(target, bundle.labels, probabilities)
    explanations = [
        ClipExplanation(str(path), bundle.labels, probabilities[i], int(targets[i]))
        for i, path in enumerate(files)
    ]
    for method in methods:
        for part in parts:
            if progress:
                progress(f"{method} on {part.name} ({len(files)} clip(s))")
            started = time.perf_counter()
            try:
                maps, errors = _attribute(method, part, targets, seed)
            except KserExplainError as error:
                for explanation in explanations:
                    explanation.skipped[f"{method} on {part.name}"] = str(error)
                continue
            seconds = (time.perf_counter() - started) / len(files)
            for i, explanation in enumerate(explanations):
                explanation.maps.setdefault(method, {})[part.name] = maps[i] * part.weight
                explanation.seconds[method] = explanation.seconds.get(method, 0.0) + seconds
                if errors is not None:
                    explanation.conservation_error[f"{method} on {part.name}"] = float(errors[i])
    return explanations, parts


def _attribute(method, part, targets, seed):
    """`(maps, LRP conservation error per clip or None)` of one method on one part."""
    if method in LRP_RULES:
        result = lrp(part.model, part.inputs, targets, rule=LRP_RULES[method])
        return result.relevance, result.conservation_error
    maps = attribute(
        method, part.model, part.inputs, targets, segmentation=part.segmentation, seed=seed
    )
    return maps, None
