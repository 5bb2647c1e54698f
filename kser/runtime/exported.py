"""An exported directory served by onnxruntime: the runtime's counterpart of a trained bundle.

`load_exported` checks the directory up front (format, files, each graph
loadable, labels matching the graph's metadata) and raises `KserBundleError`
naming the file at fault. Normalization (`kser.features.normalization`) and
speaker adaptation (`kser.speakers.adaptation`) are kser's own numpy code, so
exported and trained bundles normalize and adapt identically.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from kser.data.audio import clip_samples, load_clip
from kser.errors import KserBundleError, KserDataError, KserError
from kser.features.normalization import Normalizer
from kser.inference.predictor import Predictor
from kser.runtime import layout
from kser.speakers.adaptation import SpeakerAdaptation

_BATCH = 32
_REQUIRED_KEYS = ("format", "labels", "sample_rate", "clip_seconds", "inputs", "suited_graph")


@dataclass
class ExportedBundle(Predictor):
    """An exported model: onnxruntime sessions, normalizers, labels and the export's description.

    `sessions` maps "model" and each ONNX front end's input name to its
    session; `numpy_front_ends` maps the input names whose features numpy
    computes to their `kser.runtime.features` extractor; `normalizers` maps
    input names to `Normalizer`s; `info` is export.json. Features go in and
    out as arrays for a single-input model, as dicts keyed by input name for a
    multi-input one (an ensemble).
    """

    sessions: dict
    normalizers: dict
    labels: tuple[str, ...]
    info: dict
    directory: Path
    numpy_front_ends: dict = field(default_factory=dict)

    @property
    def sample_rate(self) -> int:
        return int(self.info["sample_rate"])

    @property
    def clip_seconds(self) -> float:
        return float(self.info["clip_seconds"])

    @property
    def clip_samples(self) -> int:
        return clip_samples(self.sample_rate, self.clip_seconds)

    @property
    def input_names(self) -> list[str]:
        return list(self.info["inputs"])

    @property
    def speaker_adaptation(self) -> SpeakerAdaptation | None:
        values = self.info.get("speaker_adaptation")
        return None if values is None else SpeakerAdaptation.from_dict(values)

    def suited_adaptation(self) -> SpeakerAdaptation:
        """`SpeakerAdaptation.suited_to` the exported model (its graph recorded at export)."""
        return SpeakerAdaptation(graph=self.info["suited_graph"])

    def with_speaker_adaptation(self, adaptation: SpeakerAdaptation | None) -> ExportedBundle:
        """The same bundle adapting as `adaptation` says (None: every clip on its own)."""
        if adaptation is not None and adaptation.graph != self.info["suited_graph"]:
            raise KserBundleError(
                f"{self.directory}: exported for speaker adaptation on its "
                f"{self.info['suited_graph']!r} vectors. Received: graph={adaptation.graph!r}"
            )
        values = None if adaptation is None else adaptation.to_dict()
        return replace(self, info={**self.info, "speaker_adaptation": values})

    def predict_features(self, features, speakers=None) -> np.ndarray:
        """Class probabilities `(n, n_labels)` of raw features (as `Bundle.predict_features`)."""
        features = self._as_dict(features)
        n = len(next(iter(features.values())))
        speakers = np.zeros(n, dtype=np.int64) if speakers is None else np.asarray(speakers)
        normalized = {
            name: self.normalizers[name].transform(values, speakers)
            for name, values in features.items()
        }
        outputs = self._run_model(normalized)
        probabilities = outputs[layout.PROBABILITIES_OUTPUT].astype(np.float64)
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        adaptation = self.speaker_adaptation
        if adaptation is None:
            return probabilities
        return adaptation.apply(probabilities, self._graph_features(normalized, outputs), speakers)

    def _normalizers(self):
        return self.normalizers.values()

    def _profile_identity(self) -> dict:
        """What a trained bundle's profiles record, so profiles serve both alike."""
        described = {
            name: {key: self.info["inputs"][name]["feature"][key] for key in ("name", "params")}
            for name in self.input_names
        }
        specs = {name: self.normalizers[name].spec for name in self.input_names}
        identity = {"features": self._as_given(described), "normalization": self._as_given(specs)}
        return json.loads(json.dumps(identity))

    def _corpus_features(self, corpus, rows):
        return self.corpus_features(corpus.manifest.iloc[rows])

    def _extract(self, waveforms: np.ndarray):
        return self.extract(waveforms)

    def corpus_features(self, manifest, progress: bool = True):
        """Raw features of the clips of `manifest` (centre-cropped), an array or a dict.

        ONNX and numpy front ends read the clips in batches, decoded as they go;
        features computed by TensorFlow come from kser's feature cache.
        """
        from tqdm.auto import tqdm

        here = [name for name in self.input_names if self._computes(name)]
        features = {name: [] for name in here}
        paths = list(manifest["path"])
        with tqdm(total=len(paths), unit="clip", desc="features", disable=not progress) as bar:
            for start in range(0, len(paths) if here else 0, _BATCH):
                batch = paths[start : start + _BATCH]
                clips = np.stack([load_clip(p, self.sample_rate, self.clip_seconds) for p in batch])
                for name in here:
                    features[name].append(self._front_end(name, clips))
                bar.update(len(batch))
        features = {name: np.concatenate(values) for name, values in features.items()}
        for name in self.input_names:
            if name not in here:
                from kser.features.pipeline import extract_features

                features[name] = extract_features(
                    manifest, self._tensorflow_extractor(name), clip_seconds=self.clip_seconds
                ).as_numpy()
        return self._as_given({name: features[name] for name in self.input_names})

    def extract(self, waveforms: np.ndarray):
        """Raw features of `(n, clip_samples)` waveforms: an array, or a dict per input."""
        waveforms = np.asarray(waveforms, dtype=np.float32)
        features = {}
        for name in self.input_names:
            if self._computes(name):
                features[name] = self._front_end(name, waveforms)
            else:
                extractor = self._tensorflow_extractor(name)
                features[name] = np.concatenate(
                    [
                        np.asarray(extractor(waveforms[start : start + _BATCH]))
                        for start in range(0, len(waveforms), _BATCH)
                    ]
                )
        return self._as_given(features)

    def _computes(self, name: str) -> bool:
        """Whether input `name`'s features come from an ONNX or numpy front end here."""
        return name in self.sessions or name in self.numpy_front_ends

    def _front_end(self, name: str, waveforms: np.ndarray) -> np.ndarray:
        if name in self.numpy_front_ends:
            compute = self.numpy_front_ends[name]
        else:
            session = self.sessions[name]

            def compute(batch):
                return session.run(None, {layout.WAVEFORM_INPUT: batch})[0]

        return np.concatenate(
            [
                compute(waveforms[start : start + _BATCH])
                for start in range(0, len(waveforms), _BATCH)
            ]
        )

    def _tensorflow_extractor(self, name: str):
        feature = self.info["inputs"][name]["feature"]
        try:
            from kser import features
            from kser.features.base import FEATURE_CODE_VERSION
        except ImportError as error:
            raise KserBundleError(
                f"{self.directory}: feature {feature['name']!r} of input {name!r} is not in the "
                f"ONNX graph ({self.info['inputs'][name]['front_end'].get('reason', '')}); "
                f"computing it needs TensorFlow, which is not installed ({error}): "
                "pip install 'kser[train]'"
            ) from None
        if str(feature.get("code_version")) != str(FEATURE_CODE_VERSION):
            raise KserBundleError(
                f"{self.directory / layout.EXPORT_FILE}: input {name!r} was exported with feature "
                f"code version {feature.get('code_version')!r}, this kser computes version "
                f"{FEATURE_CODE_VERSION!r} (kser {self.info.get('kser_version')} made it)"
            )
        return features.get(feature["name"], **feature.get("params", {}))

    def _run_model(self, normalized: dict) -> dict:
        session = self.sessions["model"]
        names = [output.name for output in session.get_outputs()]
        n = len(next(iter(normalized.values())))
        batches = [
            session.run(
                None, {key: values[start : start + _BATCH] for key, values in normalized.items()}
            )
            for start in range(0, n, _BATCH)
        ]
        return {
            name: np.concatenate([batch[i] for batch in batches]) for i, name in enumerate(names)
        }

    def _graph_features(self, normalized: dict, outputs: dict):
        graph = self.speaker_adaptation.graph
        if graph == "embedding":
            return outputs[layout.EMBEDDING_OUTPUT]
        if graph == "members":
            vectors = {}
            for key, source in self.info["graph_vectors"].items():
                kind, _, name = source.partition(":")
                vectors[key] = outputs[name] if kind == "output" else normalized[name]
            return vectors
        return self._as_given(normalized)

    def _as_dict(self, features) -> dict:
        if isinstance(features, dict):
            return features
        if not self.info["single_input"]:
            raise KserDataError(
                f"{self.directory}: features for inputs {self.input_names} must be a dict"
            )
        return {self.input_names[0]: features}

    def _as_given(self, features: dict):
        return features[self.input_names[0]] if self.info["single_input"] else features


def is_exported(path) -> bool:
    """Whether `path` is a directory holding an export's marker file."""
    return (Path(path) / layout.EXPORT_FILE).is_file()


def load_exported(path, speaker_adaptation: bool | None = None) -> ExportedBundle:
    """Load and check the exported directory at `path`.

    `speaker_adaptation`: None adapts as exported, True as suits the model, False not at all.
    """
    directory = Path(path)
    info = _read_info(directory)
    onnxruntime = _onnxruntime(directory)
    sessions = {"model": _session(onnxruntime, directory / layout.MODEL_FILE)}
    _check_metadata(sessions["model"], info, directory / layout.MODEL_FILE)
    normalizers, numpy_front_ends = {}, {}
    for name, described in info["inputs"].items():
        front_end = described.get("front_end", {})
        if front_end.get("runs_in") == layout.FRONT_END_ONNX:
            sessions[name] = _session(onnxruntime, directory / front_end["file"])
        elif front_end.get("runs_in") == layout.FRONT_END_NUMPY:
            numpy_front_ends[name] = _numpy_front_end(directory, front_end, described["feature"])
        normalizer_path = directory / described["normalizer_file"]
        if not normalizer_path.is_file():
            raise KserBundleError(
                f"{directory}: incomplete export, {normalizer_path.name} is missing"
            )
        try:
            normalizers[name] = Normalizer.load(normalizer_path)
        except KserError as error:
            raise KserBundleError(f"{normalizer_path}: unusable normalization ({error})") from None
    try:
        SpeakerAdaptation.from_dict(info.get("speaker_adaptation") or {})
    except (TypeError, ValueError) as error:
        raise KserBundleError(
            f"{directory / layout.EXPORT_FILE}: unusable speaker_adaptation ({error})"
        ) from None
    bundle = ExportedBundle(
        sessions, normalizers, tuple(info["labels"]), info, directory, numpy_front_ends
    )
    if speaker_adaptation is None:
        return bundle
    return bundle.with_speaker_adaptation(
        bundle.suited_adaptation() if speaker_adaptation else None
    )


def _read_info(directory: Path) -> dict:
    path = directory / layout.EXPORT_FILE
    if not directory.is_dir():
        raise KserBundleError(f"{directory}: exported model directory not found")
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise KserBundleError(f"{path}: cannot read the export description ({error})") from None
    if not isinstance(info, dict) or info.get("format") != layout.EXPORT_FORMAT:
        found = info.get("format") if isinstance(info, dict) else None
        made_by = info.get("kser_version", "unknown") if isinstance(info, dict) else "unknown"
        raise KserBundleError(
            f"{path}: format {found!r} (made by kser {made_by}); this kser reads "
            f"{layout.EXPORT_FORMAT}. Re-export the bundle with this kser version"
        )
    missing = [key for key in _REQUIRED_KEYS if key not in info]
    if missing:
        raise KserBundleError(
            f"{path}: incomplete export description, missing {', '.join(missing)}"
        )
    return info


def _onnxruntime(directory: Path):
    try:
        import onnxruntime
    except ImportError as error:
        raise KserBundleError(
            f"{directory}: running an exported model needs onnxruntime ({error}); "
            "install it with: pip install 'kser[runtime]'"
        ) from None
    return onnxruntime


def _session(onnxruntime, path: Path):
    if not path.is_file():
        raise KserBundleError(f"{path.parent}: incomplete export, {path.name} is missing")
    try:
        return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own Fail/InvalidGraph/... types
        lines = str(error).strip().splitlines()
        raise KserBundleError(
            f"{path}: not a loadable ONNX graph, corrupted or truncated "
            f"({type(error).__name__}: {lines[0] if lines else ''})"
        ) from None


def _numpy_front_end(directory: Path, front_end: dict, feature: dict):
    from kser.runtime.features import NUMPY_FEATURE_CODE_VERSION, load_numpy_extractor

    path = directory / front_end["file"]
    if not path.is_file():
        raise KserBundleError(f"{directory}: incomplete export, {path.name} is missing")
    if str(feature.get("code_version")) != NUMPY_FEATURE_CODE_VERSION:
        raise KserBundleError(
            f"{path}: feature {feature['name']!r} was exported with feature code version "
            f"{feature.get('code_version')!r}; this kser's numpy features compute version "
            f"{NUMPY_FEATURE_CODE_VERSION!r}. Re-export the bundle with this kser version"
        )
    return load_numpy_extractor(path)


def _check_metadata(session, info: dict, path: Path) -> None:
    """The graph's own metadata must describe the same export (not a file from another one)."""
    metadata = session.get_modelmeta().custom_metadata_map
    if (
        metadata.get("kser_format") != info["format"]
        or json.loads(metadata.get("labels", "null")) != info["labels"]
    ):
        raise KserBundleError(
            f"{path}: its metadata (format {metadata.get('kser_format')!r}, kser "
            f"{metadata.get('kser_version')!r}, labels {metadata.get('labels')!r}) does not match "
            f"{layout.EXPORT_FILE}; the graph comes from another export"
        )
