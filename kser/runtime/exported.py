"""An exported directory served by onnxruntime: the runtime's counterpart of a trained bundle.

`load_exported` checks the directory up front (format, files, each graph
loadable, labels matching the graph's metadata) and raises `KserBundleError`
naming the file at fault. Normalization (`kser.features.normalization`) and
speaker adaptation (`kser.speakers.adaptation`) are kser's own numpy code, so
exported and trained bundles normalize and adapt identically.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from kser.data.audio import clip_samples, fix_length, load_clip, load_waveform
from kser.errors import KserBundleError, KserDataError, KserError
from kser.features.normalization import Normalizer
from kser.runtime import layout
from kser.runtime.prediction import FilePrediction, WindowPrediction, audio_files, window_starts
from kser.speakers.adaptation import SpeakerAdaptation

# Long recordings are scored in clip-length windows this far apart, then averaged.
WINDOW_HOP_SECONDS = 1.5
# Fewer windows than this per speaker give unreliable per-speaker statistics.
MIN_SPEAKER_WINDOWS = 20
_BATCH = 32
_REQUIRED_KEYS = ("format", "labels", "sample_rate", "clip_seconds", "inputs", "suited_graph")


@dataclass
class ExportedBundle:
    """An exported model: onnxruntime sessions, normalizers, labels and the export's description.

    `sessions` maps "model" and each ONNX front end's input name to its
    session; `normalizers` maps input names to `Normalizer`s; `info` is
    export.json. Features go in and out as arrays for a single-input model,
    as dicts keyed by input name for a multi-input one (an ensemble).
    """

    sessions: dict
    normalizers: dict
    labels: tuple[str, ...]
    info: dict
    directory: Path

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

    def predict_waveforms(self, waveforms, speakers=None, per_window: bool = False):
        """Probabilities of each waveform (1-D, at `sample_rate`), as `Bundle.predict_waveforms`."""
        if speakers is None:
            speakers = np.zeros(len(waveforms), dtype=np.int64)
        hop = int(round(WINDOW_HOP_SECONDS * self.sample_rate))
        spans, windows, owners = [], [], []
        for owner, waveform in enumerate(waveforms):
            for start in window_starts(len(waveform), self.clip_samples, hop):
                end = start + self.clip_samples
                windows.append(fix_length(waveform[start:end], self.clip_samples))
                spans.append((start, min(end, len(waveform))))
                owners.append(owner)
        if not windows:
            raise KserDataError("no waveforms to predict")
        owners = np.asarray(owners)
        window_speakers = np.asarray(speakers)[owners]
        self._warn_about_small_speaker_groups(window_speakers)
        window_probabilities = self.predict_features(
            self.extract(np.stack(windows)), window_speakers
        )
        probabilities = np.stack(
            [window_probabilities[owners == owner].mean(axis=0) for owner in range(len(waveforms))]
        )
        if not per_window:
            return probabilities
        rate = self.sample_rate
        details = [
            [
                WindowPrediction(start / rate, end / rate, window_probabilities[i])
                for i, (start, end) in enumerate(spans)
                if owners[i] == owner
            ]
            for owner in range(len(waveforms))
        ]
        return probabilities, details

    def predict_files(self, paths, per_window: bool = False, separate_speakers: bool = False):
        """`FilePrediction` of every audio file in `paths` (as `Bundle.predict_files`)."""
        files = audio_files(paths)
        waveforms = [load_waveform(path, self.sample_rate) for path in files]
        speakers = np.arange(len(files)) if separate_speakers else None
        probabilities, windows = self.predict_waveforms(waveforms, speakers, per_window=True)
        return [
            FilePrediction(
                str(path), self.labels, probabilities[i], windows[i] if per_window else []
            )
            for i, path in enumerate(files)
        ]

    def evaluate(self, corpus, indices=None, *, seed: int = 0):
        """Score on `corpus` (all clips, or the rows `indices`): an `EvaluationResult`.

        Clips are centre-cropped or padded to the clip length, as in training.
        """
        from kser.evaluation import evaluate

        unknown = sorted(set(corpus.manifest["emotion"]) - set(self.labels))
        if unknown:
            raise KserDataError(
                f"{corpus.source}: emotion label(s) {', '.join(unknown)} unknown to the bundle "
                f"(it knows: {', '.join(self.labels)})"
            )
        rows = np.arange(len(corpus)) if indices is None else np.asarray(indices)
        manifest = corpus.manifest.iloc[rows]
        speakers = manifest["speaker"].astype(str).to_numpy()
        probabilities = self.predict_features(self.corpus_features(manifest), speakers)
        return evaluate(
            manifest["emotion"].to_numpy(),
            probabilities,
            self.labels,
            speakers=speakers,
            genders=manifest["gender"].astype(str).to_numpy(),
            clip_ids=manifest["path"].tolist(),
            seed=seed,
        )

    def corpus_features(self, manifest, progress: bool = True):
        """Raw features of the clips of `manifest` (centre-cropped), an array or a dict.

        ONNX front ends read the clips in batches, decoded as they go; features
        computed by TensorFlow come from kser's feature cache.
        """
        from tqdm.auto import tqdm

        in_onnx = [name for name in self.input_names if name in self.sessions]
        features = {name: [] for name in in_onnx}
        paths = list(manifest["path"])
        with tqdm(total=len(paths), unit="clip", desc="features", disable=not progress) as bar:
            for start in range(0, len(paths) if in_onnx else 0, _BATCH):
                batch = paths[start : start + _BATCH]
                clips = np.stack([load_clip(p, self.sample_rate, self.clip_seconds) for p in batch])
                for name in in_onnx:
                    features[name].append(self._front_end(name, clips))
                bar.update(len(batch))
        features = {name: np.concatenate(values) for name, values in features.items()}
        for name in self.input_names:
            if name not in in_onnx:
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
            if name in self.sessions:
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

    def split_rows(self, corpus, part: str) -> np.ndarray:
        """Rows of `corpus` in the `part` ("train", "val", "test") of the bundle's split."""
        if part not in ("train", "val", "test"):
            raise ValueError(f"part must be train, val or test. Received: part={part!r}")
        path = self.directory / layout.SPLIT_FILE
        if not path.is_file():
            raise KserBundleError(f"{path}: no split file lists saved with this export")
        split = json.loads(path.read_text(encoding="utf-8"))
        wanted = {clip["path"] for clip in split[part]}
        rows = np.flatnonzero(corpus.manifest["path"].isin(wanted).to_numpy())
        if len(rows) == 0:
            raise KserDataError(
                f"{corpus.source}: none of the {len(wanted)} {part} clips listed in {path}"
            )
        return rows

    def _front_end(self, name: str, waveforms: np.ndarray) -> np.ndarray:
        session = self.sessions[name]
        return np.concatenate(
            [
                session.run(None, {layout.WAVEFORM_INPUT: waveforms[start : start + _BATCH]})[0]
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
                f"computing it needs TensorFlow, which is not installed ({error})"
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

    def _warn_about_small_speaker_groups(self, speakers: np.ndarray) -> None:
        if not any(n.needs_speakers for n in self.normalizers.values()):
            return
        smallest = int(np.unique(speakers, return_counts=True)[1].min())
        if smallest < MIN_SPEAKER_WINDOWS:
            warnings.warn(
                f"this model normalizes per speaker, but a speaker group here has only "
                f"{smallest} window(s) of {self.clip_seconds:g} s; statistics of so little "
                f"audio are unreliable and predictions degrade (pass {MIN_SPEAKER_WINDOWS} or "
                "more clips of the speaker together)",
                stacklevel=3,
            )


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
    normalizers = {}
    for name, described in info["inputs"].items():
        front_end = described.get("front_end", {})
        if front_end.get("runs_in") == layout.FRONT_END_ONNX:
            sessions[name] = _session(onnxruntime, directory / front_end["file"])
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
    bundle = ExportedBundle(sessions, normalizers, tuple(info["labels"]), info, directory)
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
