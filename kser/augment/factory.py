"""Build the augmentation chain of a feature (or of waveforms) and add it to a training pipeline.

    augmentation = build_augmentation("mel", "default", seed=7)
    train = apply_augmentation(train.batch(32), augmentation, training=True)

Families of features and their default chains:

- spectral (mel, stft, cqt, mfcc, delta_mfcc, hpss, contrast, and "stack", several
  representations stacked bin-wise): frequency_mask, time_mask (SpecAugment),
  noise. On a stack a frequency mask blanks a run of neighbouring bins, i.e. a
  band of one representation (or the seam of two): the model must not lean on
  any one view;
- temporal (tempogram, delta_tempogram, pitch): time_shift, time_stretch. A
  tempogram's bins are autocorrelation lags, not frequencies (and a pitch
  track's are pitch and aperiodicity), so frequency masks and transpositions
  mean nothing there; what varies between takes of the same sentence is timing.
  Stretching the frame axis changes how fast the rhythm pattern evolves, not
  the lag (tempo) axis: a perturbation, not a re-analysis;
- harmonic (chroma, tonnetz): pitch_shift (chroma: pitch-class roll; tonnetz:
  rotation of its coordinate pairs by the same transposition);
- energy (zcr, rms): amplitude_modulation;
- waveform (raw audio, before any feature): gain, noise, pitch_shift,
  time_stretch, reverb;
- utterance ("functionals", "mfcc_functionals", "prosody": statistics of a whole
  clip): none by default, since masking or shifting frames means nothing once
  they are summarised; "noise" may be named.

Every frame-level feature family also accepts the frame-axis ops (time_shift, time_stretch,
time_mask, noise) by name, e.g. `build_augmentation("chroma", "pitch_shift,time_mask")`.

Randomness. Augmentation runs in tf.data, which executes TensorFlow ops
whatever the Keras backend, so the ops are TensorFlow ops with stateless
random draws (`tf.random.stateless_*`), never a stateful generator. The seed
of a batch is derived from `(seed, a 64-bit fingerprint of the batch's bytes,
salt)`, and step `i` of the chain folds in `i`. The map function is therefore
pure: tf.data may run it in parallel and in any order and the result for a
batch does not change, and a fresh pipeline with the same seed repeats it.
`apply_augmentation` adds the salt: a stream from
`tf.data.Dataset.random(seed, rerandomize_each_iteration=True)`, zipped in
sequentially before the parallel map, which differs from one epoch to the next
(fresh draws each epoch even for an unshuffled dataset) and repeats on a fresh
pipeline. Used directly, `dataset.map(augmentation)` has salt 0: each distinct
batch gets its own draws, and reshuffling before batching renews them.

Training only. `apply_augmentation(..., training=False)` returns the dataset
untouched, so evaluation pipelines never augment. Augmentation maps each batch
to one batch of the same examples with the same labels: it never adds copies,
so an augmented clip cannot reach another split than its own.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import tensorflow as tf

from kser.augment import feature_ops, waveform_ops
from kser.augment.sampling import batch_seed, coin, fold_seed, split_seed
from kser.augment.shared_ops import add_noise, per_example
from kser.data.audio import SAMPLE_RATE
from kser.errors import KserFeatureError

FEATURE_FAMILIES = {
    "mel": "spectral",
    "stft": "spectral",
    "cqt": "spectral",
    "mfcc": "spectral",
    "delta_mfcc": "spectral",
    "hpss": "spectral",
    "contrast": "spectral",
    "stack": "spectral",
    "tempogram": "temporal",
    "delta_tempogram": "temporal",
    "pitch": "temporal",
    "chroma": "harmonic",
    "tonnetz": "harmonic",
    "zcr": "energy",
    "rms": "energy",
    "waveform": "waveform",
    "functionals": "utterance",
    "mfcc_functionals": "utterance",
    "prosody": "utterance",
    "egemaps": "utterance",
    "compare": "utterance",
}

DEFAULT_CHAINS = {
    "spectral": ("frequency_mask", "time_mask", "noise"),
    "temporal": ("time_shift", "time_stretch"),
    "harmonic": ("pitch_shift",),
    "energy": ("amplitude_modulation",),
    "waveform": ("gain", "noise", "pitch_shift", "time_stretch", "reverb"),
    "utterance": (),
}

_FRAME_OPS = {
    "time_shift": feature_ops.time_shift,
    "time_stretch": feature_ops.time_stretch,
    "time_mask": feature_ops.time_mask,
    "noise": add_noise,
}
_FAMILY_OPS = {
    "spectral": {"frequency_mask": feature_ops.frequency_mask},
    "temporal": {},
    "energy": {"amplitude_modulation": feature_ops.amplitude_modulation},
}
_PITCH_SHIFTS = {"chroma": feature_ops.pitch_class_roll, "tonnetz": feature_ops.tonnetz_rotation}
_WAVEFORM_OPS = {
    "gain": waveform_ops.gain,
    "noise": add_noise,
    "pitch_shift": waveform_ops.pitch_shift,
    "time_stretch": waveform_ops.time_stretch,
    "reverb": waveform_ops.reverb,
}
# SpecAugment masks every example (a zero width is among the draws); other steps
# apply to half of them, so the clean distribution stays in training.
_ALWAYS_APPLIED = ("frequency_mask", "time_mask")
DEFAULT_PROBABILITY = 0.5


@dataclass(frozen=True)
class AugmentationStep:
    """One op of a chain: `op(inputs, seed, **params)`, applied per example with `probability`."""

    name: str
    op: Callable
    params: Mapping = field(default_factory=dict)
    probability: float = DEFAULT_PROBABILITY


class Augmentation:
    """A seeded chain of augmentation steps over a batch: `(inputs, *rest) -> (augmented, *rest)`.

    Map it over a batched dataset (`dataset.map(augmentation)`), or better use
    `apply_augmentation`, which also renews the draws every epoch.
    """

    def __init__(self, steps: Sequence[AugmentationStep], seed: int = 0):
        if not steps:
            raise KserFeatureError("an Augmentation needs at least one step. Received: steps=()")
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise KserFeatureError(f"seed must be an integer. Received: seed={seed!r}")
        self.steps = tuple(steps)
        self.seed = seed

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(step.name for step in self.steps)

    def __repr__(self) -> str:
        return f"Augmentation({', '.join(self.names)}; seed={self.seed})"

    def __call__(self, inputs, *rest):
        return self.augment_element((inputs, *rest), salt=0)

    def augment_element(self, element, salt):
        """Augment the first tensor of a batched dataset element, with `salt` in its seed."""
        inputs, *rest = element
        return (self.augment(inputs, batch_seed(self.seed, inputs, salt)), *rest)

    def augment(self, inputs, seed):
        """Run the chain on `inputs` with the stateless `seed` (int64 `[2]`)."""
        inputs = tf.convert_to_tensor(inputs, tf.float32)
        rank = inputs.shape.rank
        for index, step in enumerate(self.steps):
            op_seed, coin_seed = tf.unstack(split_seed(fold_seed(seed, index), 2))
            augmented = tf.ensure_shape(step.op(inputs, op_seed, **step.params), inputs.shape)
            if step.probability < 1.0:
                chosen = coin(coin_seed, tf.shape(inputs)[0], step.probability)
                augmented = tf.where(per_example(chosen, rank), augmented, inputs)
            inputs = augmented
        return inputs


def augmentation_names(feature_name: str) -> tuple[str, ...]:
    """The augmentations that apply to `feature_name` ("waveform" for raw audio)."""
    return tuple(_available_ops(feature_name))


def build_augmentation(
    feature_name: str,
    spec: str = "default",
    *,
    seed: int = 0,
    params: Mapping[str, Mapping] | None = None,
) -> Augmentation | None:
    """The augmentation chain for one feature; None for "none" or an empty "default".

    Args:
        feature_name: a kser feature name, or "waveform" (then sample rate 16 kHz;
            see `build_waveform_augmentation`).
        spec: "none", "default" (the family's chain) or comma-separated names from
            `augmentation_names(feature_name)`, applied in that order.
        seed: integer seed of every draw.
        params: per-step overrides, e.g. `{"time_mask": {"width": (0.0, 0.2)},
            "noise": {"probability": 1.0}}`; the keys are the op's keyword
            arguments plus `probability`. Names are checked here; value
            ranges when the chain first runs (is traced by `dataset.map`).
    """
    if feature_name == "waveform":
        return build_waveform_augmentation(spec, seed=seed, params=params)
    return _build(feature_name, spec, seed, params, _available_ops(feature_name), {})


def build_waveform_augmentation(
    spec: str = "default",
    *,
    seed: int = 0,
    sample_rate: int = SAMPLE_RATE,
    params: Mapping[str, Mapping] | None = None,
) -> Augmentation | None:
    """The waveform-level chain (gain, noise, pitch_shift, time_stretch, reverb) on
    `(batch, n_samples)` waveforms at `sample_rate`; same spec and params as
    `build_augmentation`."""
    if not isinstance(sample_rate, int) or sample_rate <= 0:
        raise KserFeatureError(
            f"sample_rate must be a positive integer. Received: sample_rate={sample_rate!r}"
        )
    return _build("waveform", spec, seed, params, _WAVEFORM_OPS, {"sample_rate": sample_rate})


def apply_augmentation(dataset, augmentation: Augmentation | None, *, training: bool):
    """Add `augmentation` to a batched `(inputs, labels, ...)` dataset, for training only.

    With `training=False` (validation, test, prediction) or no augmentation the
    dataset is returned as it is. Otherwise each batch is augmented with a salt
    from a seeded per-epoch stream (see the module docstring), in a parallel,
    order-preserving map.
    """
    if not training or augmentation is None:
        return dataset
    salts = tf.data.Dataset.random(seed=augmentation.seed, rerandomize_each_iteration=True)
    return tf.data.Dataset.zip(dataset, salts).map(
        augmentation.augment_element, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )


def _available_ops(feature_name: str) -> dict[str, Callable]:
    family = FEATURE_FAMILIES.get(feature_name)
    if family is None:
        raise KserFeatureError(
            f"no augmentations for this feature; expected one of {tuple(FEATURE_FAMILIES)}. "
            f"Received: feature_name={feature_name!r}"
        )
    if family == "waveform":
        return dict(_WAVEFORM_OPS)
    if family == "utterance":
        return {"noise": add_noise}
    if family == "harmonic":
        return {"pitch_shift": _PITCH_SHIFTS[feature_name], **_FRAME_OPS}
    return {**_FAMILY_OPS[family], **_FRAME_OPS}


def _build(feature_name, spec, seed, params, available, fixed_params) -> Augmentation | None:
    names = _parse_spec(spec, feature_name, available)
    if not names:
        return None
    params = dict(params or {})
    unused = sorted(set(params) - set(names))
    if unused:
        raise KserFeatureError(
            f"params for steps not in the chain {names}. Received: params keys {unused}"
        )
    steps = [
        _make_step(name, available[name], {**params.get(name, {})}, fixed_params) for name in names
    ]
    return Augmentation(steps, seed=seed)


def _parse_spec(spec, feature_name, available) -> tuple[str, ...] | None:
    if not isinstance(spec, str):
        raise KserFeatureError(f"augment spec must be a string. Received: spec={spec!r}")
    spec = spec.strip()
    if spec == "none":
        return None
    if spec == "default":
        return DEFAULT_CHAINS[FEATURE_FAMILIES[feature_name]]
    names = tuple(name.strip() for name in spec.split(","))
    valid = ("none", "default", *available)
    unknown = [name for name in names if name not in available]
    if unknown:
        raise KserFeatureError(
            f"augment spec for {feature_name!r} has names that do not apply: {unknown}; "
            f"valid: {valid} (comma-separated). Received: spec={spec!r}"
        )
    if len(set(names)) != len(names):
        raise KserFeatureError(f"augment spec repeats a name. Received: spec={spec!r}")
    return names


def _make_step(name, op, overrides, fixed_params) -> AugmentationStep:
    probability = overrides.pop(
        "probability", 1.0 if name in _ALWAYS_APPLIED else DEFAULT_PROBABILITY
    )
    if not 0.0 <= probability <= 1.0:
        raise KserFeatureError(
            f"{name}: probability must be within [0, 1]. Received: probability={probability!r}"
        )
    accepted = inspect.signature(op).parameters
    step_params = {key: value for key, value in fixed_params.items() if key in accepted}
    try:
        inspect.signature(op).bind(None, None, **overrides)
    except TypeError:
        options = [*list(accepted)[2:], "probability"]
        raise KserFeatureError(
            f"{name}: unknown parameter; expected some of {options}. Received: {overrides!r}"
        ) from None
    return AugmentationStep(name, op, {**step_params, **overrides}, probability)
