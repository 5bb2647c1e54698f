"""Trained-model bundles: everything needed to use a model on new audio, in one directory.

    bundle/
        bundle.json              format "kser-bundle/2"; labels, sample rate, clip
                                 length; per model input (by its name): feature
                                 name/parameters/code version and normalization
                                 spec; model name and arguments, protocol and
                                 split summary, test metrics, kser version
        model.keras              the classifier (logits out), without optimizer state; a
                                 classic one (`kser.baselines`) has classifier.json and
                                 its model file instead (its one input: "features")
        normalizer.<input>.json  each input's normalization spec and training statistics
        split.json               the exact train/val/test file lists

Every input is keyed by the model's input name (kser's single-input models
call theirs "features"; `kser.models.WeightedEnsemble` has one per feature):
`features` maps input -> feature, `normalization` input -> spec. Version 1
bundles (before kser 0.1's format 2) are still read: a single-input one had
`feature`, one `normalization` spec and normalizer.json instead.

`load_bundle` checks all of it up front and raises `KserBundleError` naming the
path and the problem, so `kser evaluate` and `kser predict` never depend on the
training code's current defaults.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import keras
import numpy as np

from kser.baselines.model import (
    classic_model_file,
    is_classic_bundle,
    is_classic_model,
    load_classifier,
)
from kser.data.audio import clip_samples
from kser.errors import KserBundleError, KserError
from kser.inference.predictor import (  # noqa: F401  (the records re-exported for older imports)
    SPLIT_FILE,
    WINDOW_HOP_SECONDS,
    FilePrediction,
    Predictor,
    WindowPrediction,
    audio_files,
)
from kser.inference.speaker_adaptation import (
    EMBEDDING_LAYER,
    SpeakerAdaptation,
    graph_vectors,
    is_ensemble,
)
from kser.paths import atomic_write_json

BUNDLE_FORMAT = "kser-bundle/2"
# Formats `load_bundle` reads: version 1 keyed single-input bundles by no name.
READ_FORMATS = ("kser-bundle/1", BUNDLE_FORMAT)
BUNDLE_FILE = "bundle.json"
MODEL_FILE = "model.keras"
# A version 1 single-input bundle's statistics (version 2: `normalizer_file(input)`).
NORMALIZER_FILE = "normalizer.json"
# The key of a version 1 bundle's one (unnamed) input while it is read.
_VERSION_1_INPUT = "features"
_PREDICT_BATCH = 32
_REQUIRED_KEYS = ("format", "labels", "sample_rate", "clip_seconds", "normalization")


@dataclass
class Bundle(Predictor):
    """A trained model with its feature extractors, normalizers and label names.

    `info` holds the rest of bundle.json (model name and arguments, protocol,
    split, metrics, training parameters); `directory` is where it was loaded
    from, or None for a bundle not saved yet. `info["speaker_adaptation"]`
    (a `SpeakerAdaptation` as a dict, or absent) smooths each speaker's
    predictions over that speaker's similar clips.

    `extractors` and `normalizers` are dicts keyed by the model's input name
    (kser's single-input models call theirs "features", a classic model's is
    `CLASSIC_INPUT`; `kser.models.WeightedEnsemble` has one per feature).
    For a single-input model they may be given as one object each, which is
    keyed by the model's one input name; `extractor` and `normalizer` then
    give that object back. A single-input bundle takes and returns features
    as one array; a model taking a dict of inputs (an ensemble) takes them as
    dicts with the same keys as `extractors`.
    """

    model: keras.Model
    extractors: dict
    normalizers: dict
    labels: tuple[str, ...]
    clip_seconds: float
    info: dict = field(default_factory=dict)
    directory: Path | None = None

    def __post_init__(self):
        self.extractors = _by_input(self.extractors, self.model, "extractors")
        self.normalizers = _by_input(self.normalizers, self.model, "normalizers")

    @staticmethod
    def load(path) -> Bundle:
        """`load_bundle(path)`: the bundle at `path` (a bundle or run directory), checked."""
        return load_bundle(path)

    def save(self, directory, *, split=None, corpus=None) -> Path:
        """`save_bundle(self, directory, ...)`: written atomically; returns the directory."""
        return save_bundle(self, directory, split=split, corpus=corpus)

    @property
    def single_input(self) -> bool:
        """Whether the model takes one array (features go in and out as arrays), not a
        dict by input name."""
        return _has_one_input(self.model)

    @property
    def extractor(self):
        """A single-input bundle's feature extractor (else: use `extractors`)."""
        return self._only_input("extractors")

    @property
    def normalizer(self):
        """A single-input bundle's `Normalizer` (else: use `normalizers`)."""
        return self._only_input("normalizers")

    def _only_input(self, what: str):
        values = getattr(self, what)
        if not self.single_input:
            raise KserBundleError(
                f"{self.directory or 'bundle'}: the model takes its inputs by name "
                f"({', '.join(values)}); use .{what}[name], not .{what[:-1]}"
            )
        (value,) = values.values()
        return value

    @property
    def sample_rate(self) -> int:
        # Every input's extractor has the same rate (checked when saving).
        return int(next(iter(self.extractors.values())).params["sample_rate"])

    @property
    def clip_samples(self) -> int:
        return clip_samples(self.sample_rate, self.clip_seconds)

    @property
    def speaker_adaptation(self) -> SpeakerAdaptation | None:
        values = self.info.get("speaker_adaptation")
        return None if values is None else SpeakerAdaptation.from_dict(values)

    def with_speaker_adaptation(self, adaptation: SpeakerAdaptation | None) -> Bundle:
        """The same bundle adapting as `adaptation` says (None: every clip on its own)."""
        values = None if adaptation is None else adaptation.to_dict()
        return replace(self, info={**self.info, "speaker_adaptation": values})

    def with_prior_clips(self, clips: float) -> Bundle:
        """The same bundle with the weight (k, in clips) of the population prior of its
        per-speaker statistics set to `clips` (inputs without a prior are unchanged)."""
        normalizers = {
            name: normalizer if normalizer.prior is None else normalizer.with_prior_clips(clips)
            for name, normalizer in self.normalizers.items()
        }
        return replace(self, normalizers=normalizers)

    def predict_features(self, features, speakers=None) -> np.ndarray:
        """Class probabilities `(n, n_labels)` of raw features `(n, n_bins, n_frames)`
        (for a multi-input model: a dict of them by input name).

        `speakers` (one id per row) groups rows for per-speaker normalization
        and speaker adaptation; by default all rows count as one speaker.
        """
        inputs = self._by_name(features)
        speakers = _speaker_ids(inputs, speakers)
        probabilities, graph_features = self._unadapted(inputs, speakers)
        adaptation = self.speaker_adaptation
        if adaptation is None:
            return probabilities
        return adaptation.apply(probabilities, graph_features, speakers)

    def unadapted_predictions(self, features, speakers=None):
        """`(probabilities, graph vectors)` before speaker adaptation: the vectors are
        those the bundle's adaptation compares (None when it does not adapt)."""
        inputs = self._by_name(features)
        return self._unadapted(inputs, _speaker_ids(inputs, speakers))

    def _unadapted(self, inputs: dict, speakers: np.ndarray):
        normalized = self._as_given(
            {
                name: self.normalizers[name].transform(values, speakers)
                for name, values in inputs.items()
            }
        )
        adaptation = self.speaker_adaptation
        if adaptation is not None and adaptation.graph == "embedding":
            # One pass for both: the logits layer's input and the logits.
            model = keras.Model(
                self.model.inputs,
                [self.model.get_layer(EMBEDDING_LAYER).input, self.model.outputs[0]],
            )
            embedding, logits = model.predict(normalized, batch_size=_PREDICT_BATCH, verbose=0)
            graph_features = keras.ops.convert_to_numpy(embedding)
        else:
            logits = self.model.predict(normalized, batch_size=_PREDICT_BATCH, verbose=0)
            graph_features = (
                graph_vectors(self.model, normalized, _PREDICT_BATCH)
                if adaptation is not None and adaptation.graph == "members"
                else normalized
            )
        from kser.training.trainer import log_softmax  # (kser.training imports this module)

        probabilities = np.exp(log_softmax(keras.ops.convert_to_numpy(logits)))
        return probabilities, None if adaptation is None else graph_features

    def _by_name(self, values) -> dict:
        """Per-input `values` as given to the bundle (one for a single-input model, else a
        dict by input name) as `{input name: value}`."""
        if self.single_input:
            return {next(iter(self.extractors)): values}
        if not isinstance(values, dict) or not set(self.extractors) <= set(values):
            found = sorted(values) if isinstance(values, dict) else type(values).__name__
            raise KserBundleError(
                f"{self.directory or 'bundle'}: the model takes a dict of features by input "
                f"name ({', '.join(self.extractors)}). Received: {found}"
            )
        return {name: values[name] for name in self.extractors}

    def _as_given(self, values: dict):
        """`{input name: value}` as the bundle gives it: the one value for a
        single-input model, else the dict."""
        return next(iter(values.values())) if self.single_input else values

    def _profile_identity(self) -> dict:
        described = {
            name: {"name": extractor.name, "params": extractor.params}
            for name, extractor in self.extractors.items()
        }
        specs = {name: normalizer.spec for name, normalizer in self.normalizers.items()}
        identity = {"features": self._as_given(described), "normalization": self._as_given(specs)}
        # Through JSON, so that a loaded profile compares equal (lists, not tuples).
        return json.loads(json.dumps(identity))

    def _normalizers(self):
        return self.normalizers.values()

    def _corpus_features(self, corpus, rows, *, feature_set=None, cache_root=None):
        """Raw features of `corpus`'s `rows`: from `feature_set` (a dict of them for a
        multi-input model) when given, else extracted (or read from the cache)."""
        from kser.features.pipeline import extract_features

        if feature_set is None:
            feature_sets = {
                name: extract_features(
                    corpus.manifest,
                    extractor,
                    clip_seconds=self.clip_seconds,
                    cache_root=cache_root,
                )
                for name, extractor in self.extractors.items()
            }
        else:
            feature_sets = self._by_name(feature_set)
        return self._as_given(
            {name: feature_set.as_numpy()[rows] for name, feature_set in feature_sets.items()}
        )

    def _extract(self, waveforms: np.ndarray):
        def extract(extractor):
            batches = [
                keras.ops.convert_to_numpy(extractor(waveforms[start : start + _PREDICT_BATCH]))
                for start in range(0, len(waveforms), _PREDICT_BATCH)
            ]
            return np.concatenate(batches)

        return self._as_given(
            {name: extract(extractor) for name, extractor in self.extractors.items()}
        )


def save_bundle(bundle: Bundle, directory, *, split=None, corpus=None) -> Path:
    """Write `bundle` to `directory`, replacing it atomically (readers never see half a bundle).

    `split` and `corpus` (a `Split` of that `Corpus`) add the exact file lists.
    """
    from kser.data.splits import write_split
    from kser.features import FEATURE_CODE_VERSION

    directory = Path(directory)
    _check_inputs(bundle, directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}.tmp-"))
    try:
        if is_classic_model(bundle.model):
            inference_model = bundle.model
            inference_model.save(staging)
        else:
            inference_model = type(bundle.model).from_config(bundle.model.get_config())
            inference_model.set_weights(bundle.model.get_weights())
            inference_model.save(staging / MODEL_FILE)
        # Keyed by the saved model's input names: an unnamed input's name changes when a
        # model is rebuilt from its config (a tensor's name, then its input layer's).
        extractors = _by_input(bundle.extractors, inference_model, "extractors")
        normalizers = _by_input(bundle.normalizers, inference_model, "normalizers")
        feature_description = {
            name: {
                "name": extractor.name,
                "params": extractor.params,
                "code_version": FEATURE_CODE_VERSION,
            }
            for name, extractor in extractors.items()
        }
        for name, normalizer in normalizers.items():
            normalizer.save(staging / normalizer_file(name))
        if split is not None:
            write_split(split, corpus, staging)
        atomic_write_json(
            staging / BUNDLE_FILE,
            {
                **bundle.info,
                "format": BUNDLE_FORMAT,
                "kser_version": _kser_version(),
                "created": datetime.datetime.now(datetime.timezone.utc).isoformat(
                    timespec="seconds"
                ),
                "labels": list(bundle.labels),
                "sample_rate": bundle.sample_rate,
                "clip_seconds": float(bundle.clip_seconds),
                "window_hop_seconds": WINDOW_HOP_SECONDS,
                "features": feature_description,
                "normalization": {
                    name: normalizer.spec for name, normalizer in normalizers.items()
                },
            },
        )
        _replace_directory(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    bundle.directory = directory
    return directory


def load_bundle(path) -> Bundle:
    """Load and check the bundle at `path` (a bundle directory, or a run directory holding one)."""
    import kser.models  # noqa: F401  (registers kser's model classes for deserialization)
    from kser import features
    from kser.features.normalization import Normalizer

    directory = find_bundle_directory(path)
    info = _read_info(directory)
    inputs = _described_inputs(info)
    for feature, _, _ in inputs.values():
        if str(feature.get("code_version")) != str(features.FEATURE_CODE_VERSION):
            raise KserBundleError(
                f"{directory}: made with feature code version {feature.get('code_version')!r}, "
                f"but this kser computes features with version "
                f"{features.FEATURE_CODE_VERSION!r}; its model would see other inputs than it "
                "was trained on. Retrain it, or use the kser version "
                f"{info.get('kser_version', 'unknown')} that made it"
            )
    classic = is_classic_bundle(directory)
    model_file = classic_model_file(directory) if classic else MODEL_FILE
    for name in (model_file, *(file for _, _, file in inputs.values())):
        if not (directory / name).is_file():
            raise KserBundleError(f"{directory}: incomplete bundle, {name} is missing")
    try:
        extractors = {
            key: features.get(feature["name"], **feature.get("params", {}))
            for key, (feature, _, _) in inputs.items()
        }
        normalizers = {
            key: Normalizer.load(directory / file) for key, (_, _, file) in inputs.items()
        }
    except KserError as error:
        raise KserBundleError(f"{directory}: unusable feature or normalization ({error})") from None
    for key, (_, expected, file) in inputs.items():
        if normalizers[key].spec != expected:
            raise KserBundleError(
                f"{directory}: {file} holds normalization "
                f"{normalizers[key].spec!r}, {BUNDLE_FILE} says {expected!r}"
            )
    model = load_classifier(directory) if classic else _load_model(directory / MODEL_FILE)
    labels = tuple(info["labels"])
    outputs = model.n_classes if classic else model.outputs[0].shape[-1]
    if outputs != len(labels):
        raise KserBundleError(
            f"{directory}: the model has {outputs} outputs but the bundle "
            f"lists {len(labels)} labels"
        )
    if "features" not in info:  # version 1, one input: named by the model
        name = _input_names(model)[0]
        extractors = {name: extractors[_VERSION_1_INPUT]}
        normalizers = {name: normalizers[_VERSION_1_INPUT]}
    if sorted(extractors) != sorted(_input_names(model)):
        raise KserBundleError(
            f"{directory}: the model's inputs are {sorted(_input_names(model))} but the bundle "
            f"has features for {sorted(extractors)}"
        )
    try:
        adaptation = SpeakerAdaptation.from_dict(info.get("speaker_adaptation") or {})
    except (TypeError, ValueError) as error:
        raise KserBundleError(f"{directory}: unusable speaker_adaptation ({error})") from None
    if adaptation.graph == "embedding" and EMBEDDING_LAYER not in {x.name for x in model.layers}:
        raise KserBundleError(
            f"{directory}: speaker adaptation on the embedding needs a layer named "
            f"{EMBEDDING_LAYER!r}, which the model lacks"
        )
    if adaptation.graph == "members" and not is_ensemble(model):
        raise KserBundleError(
            f"{directory}: speaker adaptation on the members' vectors needs an ensemble; "
            f"the model is a {type(model).__name__}"
        )
    known = set(_REQUIRED_KEYS) | {"feature", "features"}
    extra = {key: value for key, value in info.items() if key not in known}
    return Bundle(
        model, extractors, normalizers, labels, float(info["clip_seconds"]), extra, directory
    )


def _described_inputs(info: dict) -> dict:
    """`{input name: (feature description, normalization spec, normalizer file)}` of
    bundle.json; a version 1 single-input bundle's one input, which it names by no
    name, has the key `_VERSION_1_INPUT` until the model names it."""
    if "features" not in info:
        return {_VERSION_1_INPUT: (info["feature"], info["normalization"], NORMALIZER_FILE)}
    return {
        name: (feature, info["normalization"][name], normalizer_file(name))
        for name, feature in info["features"].items()
    }


def normalizer_file(input_name: str) -> str:
    """The file of `input_name`'s normalization statistics in a (version 2) bundle."""
    return f"normalizer.{input_name}.json"


def _load_model(path: Path) -> keras.Model:
    """The Keras model at `path`, or a `KserBundleError` saying why it cannot be read."""
    # Keras reports a file that is not a zip archive as "File not found".
    if not zipfile.is_zipfile(path):
        raise KserBundleError(f"{path}: damaged model file (not a .keras zip archive)")
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as error:  # Keras raises many types for a damaged or foreign file.
        raise KserBundleError(f"{path}: cannot load the model ({error})") from None


def find_bundle_directory(path) -> Path:
    """`path` itself if it holds bundle.json, else its single `bundle/` or `<fold>/bundle/`."""
    path = Path(path)
    if not path.exists():
        raise KserBundleError(f"{path}: bundle not found")
    if not path.is_dir():
        raise KserBundleError(f"{path}: a bundle is a directory (with {BUNDLE_FILE}), not a file")
    if (path / BUNDLE_FILE).is_file():
        return path
    candidates = sorted(found.parent for found in path.glob(f"*/{BUNDLE_FILE}"))
    candidates += sorted(found.parent for found in path.glob(f"*/bundle/{BUNDLE_FILE}"))
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        listed = ", ".join(str(c) for c in candidates)
        raise KserBundleError(f"{path}: holds {len(candidates)} bundles; name one of: {listed}")
    raise KserBundleError(f"{path}: not a bundle ({BUNDLE_FILE} missing)")


def _read_info(directory: Path) -> dict:
    path = directory / BUNDLE_FILE
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise KserBundleError(f"{path}: cannot read bundle description ({error})") from None
    if not isinstance(info, dict) or info.get("format") not in READ_FORMATS:
        found = info.get("format") if isinstance(info, dict) else None
        raise KserBundleError(
            f"{path}: not a kser bundle of format {' or '.join(READ_FORMATS)} (format: {found!r})"
        )
    missing = [key for key in _REQUIRED_KEYS if key not in info]
    if isinstance(info.get("features"), dict):
        missing += [
            f"features.{name}.name"
            for name, feature in info["features"].items()
            if not isinstance(feature, dict) or "name" not in feature
        ]
        specs = info.get("normalization")
        if not isinstance(specs, dict) or sorted(specs) != sorted(info["features"]):
            missing.append(f"normalization of each input ({', '.join(info['features'])})")
    elif not isinstance(info.get("feature"), dict) or "name" not in info.get("feature", {}):
        missing.append("feature.name")
    if missing:
        raise KserBundleError(
            f"{path}: incomplete bundle description, missing {', '.join(missing)}"
        )
    _check_fields(info, path)
    return info


def _speaker_ids(features: dict, speakers) -> np.ndarray:
    """`speakers` as an array, or one speaker for every row of `features` (by input
    name) when None."""
    if speakers is None:
        first = next(iter(features.values()))
        return np.zeros(len(first), dtype=np.int64)
    return np.asarray(speakers)


def _check_fields(info: dict, path: Path) -> None:
    """Raise `KserBundleError` naming the first bundle.json field of the wrong type or range."""
    labels = info["labels"]
    if (
        not isinstance(labels, list)
        or len(labels) < 2
        or not all(isinstance(label, str) and label for label in labels)
        or len(set(labels)) != len(labels)
    ):
        raise KserBundleError(
            f"{path}: labels must be a list of two or more distinct names. Received: {labels!r}"
        )
    rate = info["sample_rate"]
    if isinstance(rate, bool) or not isinstance(rate, int) or rate <= 0:
        raise KserBundleError(
            f"{path}: sample_rate must be a positive whole number of Hz. Received: {rate!r}"
        )
    for name in ("clip_seconds", "window_hop_seconds"):
        value = info.get(name, WINDOW_HOP_SECONDS)
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise KserBundleError(f"{path}: {name} must be a positive number. Received: {value!r}")
    described = info["features"].values() if "features" in info else [info["feature"]]
    for feature in described:
        params = feature.get("params", {})
        if not isinstance(params, dict):
            raise KserBundleError(
                f"{path}: feature parameters must be a mapping. Received: {params!r}"
            )
        if params.get("sample_rate", rate) != rate:
            raise KserBundleError(
                f"{path}: sample_rate is {rate} but feature {feature['name']!r} is computed "
                f"at {params['sample_rate']} Hz"
            )


# The one input of a classic (scikit-learn / xgboost) classifier, which names none.
CLASSIC_INPUT = "features"


def _input_names(model) -> list[str]:
    if is_classic_model(model):
        return [CLASSIC_INPUT]
    return [tensor.name for tensor in model.inputs]


def _has_one_input(model) -> bool:
    """Whether `model` takes one array (not a dict of named inputs)."""
    return is_classic_model(model) or not isinstance(model.input, dict)


def _by_input(values, model, what: str) -> dict:
    """`values` (a dict by input name, or one object for a single-input model) as
    `{model input name: object}`. A single-input model's one entry is keyed by the
    model's input name, which a model rebuilt from its config may have changed."""
    names = _input_names(model)
    if isinstance(values, dict):
        if _has_one_input(model) and len(values) == 1:
            return {names[0]: next(iter(values.values()))}
        return dict(values)
    if len(names) != 1:
        raise KserBundleError(
            f"the model's inputs are {sorted(names)}: its {what} must be a dict with those "
            f"keys. Received: one {type(values).__name__}"
        )
    return {names[0]: values}


def _check_inputs(bundle: Bundle, directory: Path) -> None:
    """A bundle has one extractor and normalizer per model input, at one sample rate."""
    expected = sorted(_input_names(bundle.model))
    for what, values in (("extractors", bundle.extractors), ("normalizers", bundle.normalizers)):
        # (A single-input model's one entry counts as its input's, as when it is saved.)
        if sorted(_by_input(values, bundle.model, what)) != expected:
            raise KserBundleError(
                f"{directory}: the model's inputs are {expected}; the bundle's {what} must "
                f"have those keys. Received: {sorted(values)}"
            )
    rates = {name: e.params["sample_rate"] for name, e in bundle.extractors.items()}
    if len(set(rates.values())) != 1:
        raise KserBundleError(f"{directory}: inputs need one sample rate. Received: {rates}")


def _replace_directory(staging: Path, directory: Path) -> None:
    """Move `staging` to `directory`; an old `directory` is moved aside first, then deleted."""
    if not directory.exists():
        os.replace(staging, directory)
        return
    retired = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}.old-"))
    os.replace(directory, retired / directory.name)
    os.replace(staging, directory)
    shutil.rmtree(retired, ignore_errors=True)


def _kser_version() -> str:
    from kser.version import __version__

    return __version__
