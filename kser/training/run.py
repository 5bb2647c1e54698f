"""`run_experiment`: corpus -> split -> features -> train -> evaluate -> report -> bundle.

The one pipeline behind `kser train`, the quickstart and every experiment
script. A run directory holds, per split of the protocol:

    <run_dir>/[<split name>/]     (a sub-directory per fold for loso and kfold)
        split.json                exact train/val/test file lists
        metrics.json, report.md, report.html, *.png, predictions.csv
        checkpoints/              best weights and training state (resumable)
        refit/checkpoints/        the same for the train + val refit (`refit=True`)
        bundle/                   the trained model, ready for `kser evaluate|predict`
    <run_dir>/config.json         the experiment's parameters
    <run_dir>/summary.json        mean ± std over folds (multi-fold protocols)

Running the same configuration into the same run directory again trains only
what is missing: complete splits are kept, an interrupted one resumes where it
stopped (`run_experiment`).
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kser.baselines import CLASSIC_MODELS
from kser.data.audio import CLIP_SECONDS
from kser.errors import KserConfigError, KserDataError, KserError
from kser.evaluation.report import METRICS_FILE
from kser.inference.bundle import Bundle, save_bundle
from kser.inference.speaker_adaptation import SpeakerAdaptation
from kser.paths import atomic_write_json
from kser.training.options import check_option
from kser.training.run_directory import (
    CONFIG_FILE,
    SUMMARY_FILE,
    check_same_configuration,
    split_is_complete,
)
from kser.training.trainer import SCHEDULES, seed_everything, train

# The architecture a feature gets when none is named: functionals are one vector
# per clip, spectral values for a linear expert and prosodic ones (last) for an
# MLP; prosody alone (19 values) and the MFCC functionals (no prosody) go to a
# linear model; frame sequences to the 1-D CNN.
FEATURE_MODELS = {
    "functionals": "prosody_fusion",
    "prosody": "linear",
    "mfcc_functionals": "linear",
}
SEQUENCE_MODEL = "conv1d"
# Epochs when none are named. The functionals models still improve after 20
# epochs at the shared learning rate (leave-one-speaker-out UAR of the linear
# one on all-frame functionals: 0.472 at 20, 0.485 at 40 and 60); the CNNs
# settle within 20.
MODEL_EPOCHS = {"linear": 40, "kernel": 40, "prosody_fusion": 40}
DEFAULT_EPOCHS = 20
# Protocols of several splits (folds), and the kfold protocol's fold names.
MULTI_SPLIT_PROTOCOLS = ("loso", "kfold")
KFOLD_NAMES = tuple(f"kfold-{fold}" for fold in range(5))
# The speaker prior's weight k while training on subsets; validation then picks
# the bundle's own (`kser.training.speaker_settings`).
TRAINING_PRIOR_CLIPS = 5.0


@functools.lru_cache(maxsize=32)
def _check_feature(name: str, params_json: str) -> None:
    """Build the extractor once to check its name and parameters (a stack takes a second)."""
    from kser.features import get

    get(name, **json.loads(params_json))


def default_model(feature: str) -> str:
    """The model `ExperimentConfig` (and `kser train` without `--model`) gives `feature`."""
    return FEATURE_MODELS.get(feature, SEQUENCE_MODEL)


@dataclass
class ExperimentConfig:
    """Everything that defines an experiment; saved as config.json and logged to MLflow.

    `normalization`: a spec of `kser.features.normalization` ("speaker+global":
    z-score per speaker, then with training statistics). `augment`: "none",
    "default" or comma-separated names (`kser.augment`). `waveform_augment`:
    the same for the waveform chain, applied to training clips before feature
    extraction (slower: features are then computed every epoch; see
    `kser.training.augmented_batches`). `class_weights`:
    weight the loss by inverse class frequency of the training split.
    `folds`: names of the splits to run (e.g. ["loso-SB0"]); None runs all.

    The defaults are the best single configuration measured on unseen nEMO
    speakers (leave-one-speaker-out UAR): utterance functionals of seven
    stacked representations and of the pitch track (`kser.features.functionals`,
    `kser.features.pitch`), z-scored per speaker, for `prosody_fusion`, with
    speaker adaptation. They beat a linear classifier on the spectral
    functionals alone, a 1-D CNN over the frames of the same stack and that
    CNN on log-mel alone; 2-D CNNs of the same budget stayed near chance.
    Every figure, with its command: docs/results.md.
    `model=None` picks the feature's usual architecture (`default_model`),
    `epochs=None` the model's usual number (`MODEL_EPOCHS`).

    `refit`: after the epoch is chosen on the validation speakers, train a
    fresh model on training and validation clips together for that many
    epochs and keep it (with normalization statistics of both): one more
    voice to learn from, which matters when a corpus has only a handful.

    `mixup`: the Beta(alpha, alpha) parameter of mixup on training batches
    (`kser.augment.mixup`; 0: none), after `augment`. Off by default: on the
    full-width ResNet (`seed` protocol) it lowered validation UAR, and weight
    decay helped more (docs/results.md).

    `speaker_adaptation`: the bundle smooths each speaker's predictions over
    that speaker's most similar clips (`SpeakerAdaptation.suited_to` the
    model; no labels used). The test report then also gives the UAR without
    it (`uar_without_speaker_adaptation`).

    `speaker_prior` (for "speaker" normalizations): shrink each speaker's
    statistics towards the training population's by how many of the
    speaker's clips are known (`kser.speakers.statistics`), so that one clip of
    a new voice is z-scored with the population's statistics instead of its
    own (which leave nothing). `speaker_subsets`: train on clips normalized
    with statistics of random subsets of their speaker's clips (1 to all), so
    the model learns every group size it will meet. Validation speakers then
    choose the prior's weight and how speaker adaptation grows with the clips
    (`kser.training.speaker_settings`). Both are on by default because, on
    unseen nEMO speakers (leave-one-speaker-out, each test speaker's clips
    scored in random groups of N), they make one clip usable (without them
    it scores at or below chance) at about the cost of nothing with all the
    speaker's clips, and beat the best model without per-speaker
    normalization at every N (docs/speakers.md, docs/results.md).
    `voice_prior` (off by default): shrink towards a mixture of the training
    speakers' statistics weighted by their similarity to the clips
    (`kser.speakers.statistics.VoiceStatistics`) instead of the population's;
    its temperature is chosen on validation too. Given to the default model's
    fold bundles it does not lift N=1 (0.471 at best, as without), and trained
    with it two LOSO folds did worse at every N (docs/speakers.md): opt-in.

    Every option is checked when the config is made (`KserConfigError`
    naming it), so a bad one is refused before any data is read.

    `adversarial_training`: "fgsm:EPS" or "pgd:EPS[:STEPS]" (eps in
    normalized-feature std units): every training batch is learnt clean and
    attacked against the current weights (`kser.adversarial.training`); None: off.

    `channel_augmentation`: e.g. "telephone,noise:5-20,reverb:0.2-0.8": every
    training clip also appears once through a channel drawn from these
    (`kser.channels.augmentation`; seeded per clip); None: off.
    """

    protocol: str = "speaker"
    seed: int = 42
    feature: str = "functionals"
    feature_params: dict = field(default_factory=dict)
    clip_seconds: float = CLIP_SECONDS
    normalization: str = "speaker+global"
    augment: str = "default"
    waveform_augment: str = "none"
    model: str | None = None
    model_params: dict = field(default_factory=dict)
    epochs: int | None = None
    batch_size: int = 32
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    schedule: str = "cosine"
    patience: int = 10
    class_weights: bool = False
    folds: list[str] | None = None
    refit: bool = False
    speaker_adaptation: bool = True
    mixup: float = 0.0
    speaker_prior: bool = True
    speaker_subsets: bool = True
    voice_prior: bool = False
    adversarial_training: str | None = None
    channel_augmentation: str | None = None

    def __post_init__(self):
        if self.model is None:
            self.model = default_model(self.feature)
        if self.epochs is None:
            self.epochs = MODEL_EPOCHS.get(self.model, DEFAULT_EPOCHS)
        self._check()

    def _check(self) -> None:
        """Raise `KserConfigError` naming the first bad option: before any data is read."""
        from kser.augment import build_augmentation, build_waveform_augmentation
        from kser.data.splits import PROTOCOLS
        from kser.features.normalization import NORMALIZATIONS
        from kser.models import model_names

        for name, rules in (
            ("protocol", {"choices": PROTOCOLS}),
            ("seed", {"whole_from": 0}),
            ("feature", {"kind": str}),
            ("feature_params", {"kind": dict}),
            ("clip_seconds", {"positive": True}),
            ("normalization", {"choices": NORMALIZATIONS}),
            ("augment", {"kind": str}),
            ("waveform_augment", {"kind": str}),
            ("model", {"choices": (*model_names(), *CLASSIC_MODELS)}),
            ("model_params", {"kind": dict}),
            ("epochs", {"whole_from": 1}),
            ("batch_size", {"whole_from": 1}),
            ("learning_rate", {"positive": True}),
            ("weight_decay", {"non_negative": True}),
            ("schedule", {"choices": SCHEDULES}),
            ("patience", {"whole_from": 1}),
            ("class_weights", {"kind": bool}),
            ("folds", {"kind": list, "optional": True}),
            ("refit", {"kind": bool}),
            ("speaker_adaptation", {"kind": bool}),
            ("mixup", {"non_negative": True}),
            ("speaker_prior", {"kind": bool}),
            ("speaker_subsets", {"kind": bool}),
            ("voice_prior", {"kind": bool}),
            ("adversarial_training", {"kind": str, "optional": True}),
            ("channel_augmentation", {"kind": str, "optional": True}),
        ):
            check_option(name, getattr(self, name), **rules)
        self._check_folds()
        try:
            _check_feature(self.feature, json.dumps(self.feature_params, sort_keys=True))
            if self.augment != "none":
                build_augmentation(self.feature, self.augment, seed=self.seed)
            build_waveform_augmentation(self.waveform_augment, seed=self.seed)
            self.training_attack()
            self._check_channel_augmentation()
        except (KserError, TypeError, ValueError) as error:  # e.g. n_mels="many"
            raise KserConfigError(str(error)) from None

    def _check_channel_augmentation(self) -> None:
        if self.channel_augmentation is None:
            return
        from kser.channels.augmentation import parse_channel_augmentation

        parse_channel_augmentation(self.channel_augmentation)
        if self.waveform_augment != "none":
            raise KserConfigError(
                "channel_augmentation and waveform_augment both change the training audio: "
                f"pick one. Received: waveform_augment={self.waveform_augment!r}"
            )

    def _check_folds(self) -> None:
        """Fold names fit the protocol: "loso-<speaker>" or "kfold-<0..4>"; none for
        single-split protocols. (Which speakers exist is known once the corpus loads.)"""
        if not self.folds:
            return
        if self.protocol not in MULTI_SPLIT_PROTOCOLS:
            raise KserConfigError(
                f"folds apply to protocol {' or '.join(MULTI_SPLIT_PROTOCOLS)}, not "
                f"{self.protocol!r}. Received: folds={self.folds}"
            )
        allowed = KFOLD_NAMES if self.protocol == "kfold" else None
        for name in self.folds:
            fits = isinstance(name, str) and name.startswith(f"{self.protocol}-")
            if not fits or (allowed is not None and name not in allowed):
                expected = ", ".join(allowed) if allowed else "loso-<speaker id>"
                raise KserConfigError(
                    f"folds of protocol {self.protocol!r} are named {expected}. "
                    f"Received: folds={self.folds}"
                )

    def training_attack(self):
        """The `kser.adversarial.Attack` of `adversarial_training`, or None."""
        if self.adversarial_training is None:
            return None
        from kser.adversarial.attacks import parse_attack

        return parse_attack(self.adversarial_training, seed=self.seed)

    def run_name(self) -> str:
        return f"{self.model}-{self.feature}-{self.protocol}"

    @property
    def prior_clips(self) -> float | None:
        """The speaker prior's weight to train with, or None for no prior."""
        if self.speaker_prior and self.normalization.startswith("speaker"):
            return TRAINING_PRIOR_CLIPS
        return None

    @property
    def voice_temperature(self) -> float | None:
        """The voice-matched prior's temperature to train with, or None for none."""
        from kser.speakers.statistics import TRAINING_VOICE_TEMPERATURE

        if self.voice_prior and self.prior_clips is not None:
            return TRAINING_VOICE_TEMPERATURE
        return None


@dataclass
class SplitOutcome:
    """One split's trained bundle and test scores.

    `metrics`: the test scores as in the split's metrics.json. `evaluation`
    (the `EvaluationResult`) and `training` (the `TrainingResult`) are None
    for a split found complete and not trained again (`reused`).
    """

    name: str
    directory: Path
    bundle_directory: Path
    metrics: dict
    evaluation: object = None
    training: object = None
    reused: bool = False


@dataclass
class ExperimentOutcome:
    run_dir: Path
    splits: list[SplitOutcome]
    summary: dict | None
    seconds: float

    @property
    def evaluation(self):
        """The test evaluation of a single-split protocol."""
        if len(self.splits) != 1:
            raise ValueError(f"{len(self.splits)} splits; read .splits or .summary instead")
        return self.splits[0].evaluation

    @property
    def trained(self) -> list[str]:
        """The splits this call trained."""
        return [split.name for split in self.splits if not split.reused]

    @property
    def reused(self) -> list[str]:
        """The splits found complete and not trained again."""
        return [split.name for split in self.splits if split.reused]


@dataclass
class FittedSplit:
    """What `fit_split` trained: the model to keep, its normalizer, the training record
    (the selection run's, also with `refit`) and the parameters it was logged with."""

    model: object
    normalizer: object
    training: object
    params: dict
    split_info: dict


def default_run_dir(name: str, root="runs") -> Path:
    """`runs/<name>-<YYYYmmdd-HHMMSS>`."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path(root) / f"{name}-{stamp}"


def run_experiment(
    corpus,
    config: ExperimentConfig,
    run_dir,
    *,
    tracker=None,
    cache_root=None,
    verbose: int = 1,
) -> ExperimentOutcome:
    """Train and evaluate `config` on `corpus` (a `kser.data.Corpus`), writing into `run_dir`.

    Every protocol alike: a split whose directory is complete (metrics.json
    and bundle, `split_is_complete`) is not trained again, an interrupted one
    resumes from its checkpoints, so rerunning the same command after an
    interruption finishes the run. Features are extracted only when a split
    needs training. A multi-split protocol (loso, kfold) gives each fold its
    `<run_dir>/<fold>/` and a summary.json (mean ± std over the folds run)
    rebuilt from every fold's metrics.json, reused or trained alike.

    `tracker`: a `kser.training.Tracker` (one MLflow run per trained split), or None.
    `verbose`: 0 silent, 1 progress bars, 2 one line per epoch.

    Raises:
        KserConfigError: `run_dir` holds a run of other settings, or
            `config.folds` names a fold the protocol does not have.
    """
    from kser.data.splits import make_splits

    start = time.perf_counter()
    run_dir = Path(run_dir)
    check_same_configuration(run_dir, config)
    try:
        every_split = make_splits(corpus, config.protocol, config.seed)
    except ValueError as error:  # e.g. too few speakers for loso
        raise KserDataError(
            f"{corpus.source}: cannot split by {config.protocol}: {error}"
        ) from None
    splits = selected_splits(every_split, config.folds)
    # Folds get a directory each, also when only some are selected now.
    multi_split = len(every_split) > 1
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(run_dir / CONFIG_FILE, dataclasses.asdict(config))
    outcomes = []
    extractor = feature_set = None
    for split in splits:
        split_dir = run_dir / split.name if multi_split else run_dir
        if split_is_complete(split_dir):
            if verbose:
                print(f"kser: {split.name}: complete in {split_dir}, not retrained")
            outcomes.append(_reused_split(split.name, split_dir))
            continue
        if feature_set is None:  # only when a split needs training
            extractor, feature_set = cached_features(corpus, config, cache_root, verbose)
        if verbose:
            print(f"kser: split {split.name}: {_describe_split(split, corpus)}")
        outcomes.append(
            run_split(
                corpus=corpus,
                config=config,
                split=split,
                split_dir=split_dir,
                extractor=extractor,
                feature_set=feature_set,
                tracker=tracker,
                verbose=verbose,
            )
        )
    summary = None
    if multi_split:
        from kser.evaluation import aggregate_folds

        names = [outcome.name for outcome in outcomes]
        summary = {
            "protocol": config.protocol,
            **aggregate_folds([outcome.metrics for outcome in outcomes], names),
        }
        atomic_write_json(run_dir / SUMMARY_FILE, summary)
    return ExperimentOutcome(run_dir, outcomes, summary, time.perf_counter() - start)


def cached_features(corpus, config: ExperimentConfig, cache_root=None, verbose: int = 1):
    """The configured extractor and its (cached) features of every clip of `corpus`."""
    from kser import features
    from kser.features.pipeline import extract_features

    extractor = features.get(config.feature, **config.feature_params)
    feature_set = extract_features(
        corpus.manifest,
        extractor,
        clip_seconds=config.clip_seconds,
        cache_root=cache_root,
        progress=verbose > 0,
    )
    return extractor, feature_set


def run_split(
    *, corpus, config, split, split_dir, extractor, feature_set, tracker=None, verbose: int = 1
) -> SplitOutcome:
    """Train, bundle, score and report one split of `corpus` into `split_dir`.

    The three steps are `fit_split`, `build_bundle` and `score_and_report`;
    `tracker` (a `kser.training.Tracker`, or None) gets one MLflow run for the
    split, named after the run directory (and the fold, for multi-fold protocols).
    """
    from kser.data.splits import write_split

    tracking_name = split_dir.name
    if split_dir.name == split.name:
        tracking_name = f"{split_dir.parent.name}/{split.name}"
    if config.model in CLASSIC_MODELS:
        from kser.baselines.training import train_classic_split

        return train_classic_split(
            corpus, config, split, split_dir, extractor, feature_set, verbose
        )
    # Seed first: the dataset's shuffle and the model's initial weights both depend on it.
    seed_everything(config.seed)
    write_split(split, corpus, split_dir)
    with _tracked_run(tracker, tracking_name, split_dir) as run:
        fitted = fit_split(
            corpus=corpus,
            config=config,
            split=split,
            split_dir=split_dir,
            extractor=extractor,
            feature_set=feature_set,
            run=run,
            verbose=verbose,
        )
        bundle = build_bundle(
            fitted=fitted,
            corpus=corpus,
            config=config,
            split=split,
            split_dir=split_dir,
            extractor=extractor,
            feature_set=feature_set,
        )
        return score_and_report(
            bundle=bundle,
            fitted=fitted,
            corpus=corpus,
            config=config,
            split=split,
            split_dir=split_dir,
            feature_set=feature_set,
            run=run,
            verbose=verbose,
        )


def fit_split(
    *, corpus, config, split, split_dir, extractor, feature_set, run=None, verbose: int = 1
) -> FittedSplit:
    """Train `config`'s model on `split.train`, choosing the epoch on `split.val`
    (checkpoints in `split_dir`, resumable), then with `config.refit` a fresh one
    on both. `run`: the split's open MLflow run (its parameters are logged), or None."""
    from kser.training.augmented_batches import training_batches

    labels = corpus.label_indices
    normalizer = feature_set.fit_normalizer(
        config.normalization, split.train, config.prior_clips, config.voice_temperature
    )
    train_data = training_batches(
        feature_set,
        split.train,
        labels,
        extractor,
        normalizer,
        config,
        num_classes=len(corpus.labels),
    )
    val_data = feature_set.dataset(
        split.val, labels, batch_size=config.batch_size, normalizer=normalizer
    )
    model = _build(config, feature_set, corpus)
    class_weights = _balanced_class_weights(labels[split.train]) if config.class_weights else None
    split_info = split_summary(corpus, split)
    params = {
        **dataclasses.asdict(config),
        "split": split_info,
        "feature_shape": list(feature_set.shape),
        "model_parameters": model.count_params(),
    }
    if run is not None:
        run.log_params(params)
    training = train(
        model,
        train_data,
        val_data,
        run_dir=split_dir,
        epochs=config.epochs,
        learning_rate=config.learning_rate,
        weight_decay=config.weight_decay,
        schedule=config.schedule,
        patience=config.patience,
        class_weights=class_weights,
        seed=config.seed,
        tracker=run,
        verbose=verbose,
        adversarial_training=config.training_attack(),
    )
    if config.refit:
        model, normalizer = _refit(
            corpus, config, split, split_dir, extractor, feature_set, training, verbose
        )
    return FittedSplit(model, normalizer, training, params, split_info)


def build_bundle(*, fitted, corpus, config, split, split_dir, extractor, feature_set) -> Bundle:
    """The `Bundle` of `fitted` (a `FittedSplit`), its speaker prior's weight and
    adaptation chosen and calibrated on `split.val` (unless the model trained on it)."""
    training = fitted.training
    bundle = Bundle(
        model=fitted.model,
        extractors=extractor,
        normalizers=fitted.normalizer,
        labels=tuple(corpus.labels),
        clip_seconds=config.clip_seconds,
        info={
            "model": {"name": config.model, "params": config.model_params},
            "protocol": config.protocol,
            "split": fitted.split_info,
            "training": {
                **training.params,
                "batch_size": config.batch_size,
                "augment": config.augment,
                "waveform_augment": config.waveform_augment,
                "channel_augmentation": config.channel_augmentation,
                "mixup": config.mixup,
                "adversarial_training": config.adversarial_training,
                "best_epoch": training.best_epoch,
                "best_val_uar": training.best_val_uar,
                "epochs_run": training.epochs_run,
                "refit_on_train_and_val": config.refit,
            },
            "corpus": corpus.source,
            "speaker_adaptation": (
                SpeakerAdaptation.suited_to(fitted.model).to_dict()
                if config.speaker_adaptation
                else None
            ),
        },
    )
    # (A refit model trained on the validation clips: they can tune nothing.)
    if not config.refit and len(split.val):
        bundle = _fit_speaker_settings(
            bundle, corpus, split.val, feature_set, split_dir, config.seed
        )
        if bundle.speaker_adaptation is not None:
            bundle = _calibrate_adaptation(bundle, corpus, split.val, feature_set, config.seed)
    return bundle


def score_and_report(
    *, bundle, fitted, corpus, config, split, split_dir, feature_set, run=None, verbose: int = 1
) -> SplitOutcome:
    """Score `bundle` on `split.test`, write the report (metrics.json, report.md, plots)
    and then the bundle into `split_dir`, and log both to `run` (an MLflow run, or None)."""
    from kser.evaluation import write_report

    training = fitted.training
    evaluation = bundle.evaluate(corpus, split.test, feature_set=feature_set, seed=config.seed)
    unadapted = _unadapted_scores(bundle, corpus, split.test, feature_set, config.seed)
    bundle.info["metrics"] = {
        key: evaluation.to_dict()[key] for key in ("n", "uar", "accuracy", "macro_f1")
    }
    title = f"{config.run_name()} — {split.name} (test speakers: "
    title += f"{', '.join(fitted.split_info['test_speakers'])})"
    write_report(
        evaluation,
        split_dir,
        title=title,
        metadata={
            **fitted.params,
            "best_epoch": training.best_epoch,
            "best_val_uar": training.best_val_uar,
            "epochs_run": training.epochs_run,
            "training_seconds": round(training.seconds, 1),
            **unadapted,
        },
        history=training.history,
    )
    bundle_dir = save_bundle(bundle, split_dir / "bundle", split=split, corpus=corpus)
    if run is not None:
        run.log_metrics(
            {
                "test_uar": evaluation.uar,
                "test_accuracy": evaluation.accuracy,
                "test_macro_f1": evaluation.macro_f1,
                "best_epoch": training.best_epoch,
                "best_val_uar": training.best_val_uar,
                **{f"test_{key}": value for key, value in unadapted.items()},
            }
        )
        _log_run_directory(run, split_dir)
    if verbose:
        print(
            f"kser: {split.name}: best epoch {training.best_epoch} (val UAR "
            f"{training.best_val_uar:.3f}); test UAR {evaluation.uar:.3f}, "
            f"accuracy {evaluation.accuracy:.3f}, macro-F1 {evaluation.macro_f1:.3f}"
            + "".join(f" (without speaker adaptation {v:.3f})" for v in unadapted.values())
        )
    return SplitOutcome(
        split.name, split_dir, bundle_dir, evaluation.to_dict(), evaluation, training
    )


def _reused_split(name: str, split_dir: Path) -> SplitOutcome:
    """The outcome of a split found complete: its scores read back from metrics.json."""
    path = split_dir / METRICS_FILE
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise KserError(f"{path}: cannot read the split's metrics ({error})") from None
    return SplitOutcome(name, split_dir, split_dir / "bundle", metrics, reused=True)


def split_summary(corpus, split) -> dict:
    """The split's name, protocol, seed, and speakers and clip count of each part."""
    return {
        "name": split.name,
        "protocol": split.protocol,
        "seed": split.seed,
        **{f"{part}_speakers": _speakers(corpus, rows) for part, rows in split.parts().items()},
        **{f"n_{part}": int(len(rows)) for part, rows in split.parts().items()},
    }


def _fit_speaker_settings(bundle, corpus, rows, feature_set, split_dir, seed):
    """`bundle` with its speaker prior's weight and adaptation growth chosen on the
    validation clips at `rows` (`kser.training.speaker_settings`); every candidate's
    scores go to `speaker_settings.json`."""
    from kser.training.speaker_settings import fit_speaker_settings

    manifest = corpus.manifest.iloc[rows]
    fitted, fit = fit_speaker_settings(
        bundle,
        feature_set.as_numpy()[rows],
        manifest["speaker"].astype(str).to_numpy(),
        corpus.label_indices[rows],
        seed=seed,
    )
    if fit.scores:
        atomic_write_json(split_dir / "speaker_settings.json", dataclasses.asdict(fit))
    return fitted


def _calibrate_adaptation(bundle, corpus, rows, feature_set, seed):
    """`bundle` with its speaker adaptation's temperature fitted (NLL) on the adapted
    predictions for `rows` (the validation clips): averaging over neighbours leaves
    probabilities under-confident. The argmax, and so every score but ECE, is unchanged.
    Clips that do not pin a temperature down leave the bundle as it is."""
    from kser.evaluation.calibration import calibrating_temperature

    result = bundle.evaluate(corpus, rows, feature_set=feature_set, seed=seed)
    temperature = calibrating_temperature(result.y_prob, result.y_true)
    if temperature is None:
        return bundle
    calibrated = dataclasses.replace(bundle.speaker_adaptation, temperature=temperature)
    return bundle.with_speaker_adaptation(calibrated)


def _unadapted_scores(bundle, corpus, rows, feature_set, seed) -> dict:
    """The test UAR of an adapting bundle without its speaker adaptation ({} for others)."""
    if bundle.speaker_adaptation is None:
        return {}
    plain = bundle.with_speaker_adaptation(None)
    return {
        "uar_without_speaker_adaptation": plain.evaluate(
            corpus, rows, feature_set=feature_set, seed=seed
        ).uar
    }


def _build(config, feature_set, corpus):
    from kser.models import build_model

    return build_model(
        config.model, feature_set.shape, num_classes=len(corpus.labels), **config.model_params
    )


def _refit(corpus, config, split, split_dir, extractor, feature_set, selection, verbose):
    """A fresh model trained on train + val for the epochs `selection` chose,
    and the normalizer fitted on both; checkpoints in `split_dir/refit`.

    The learning rate always decays by cosine: "plateau" needs validation scores."""
    from kser.training.augmented_batches import training_batches

    rows = np.concatenate([split.train, split.val])
    labels = corpus.label_indices
    seed_everything(config.seed)
    normalizer = feature_set.fit_normalizer(
        config.normalization, rows, config.prior_clips, config.voice_temperature
    )
    data = training_batches(
        feature_set, rows, labels, extractor, normalizer, config, num_classes=len(corpus.labels)
    )
    model = _build(config, feature_set, corpus)
    if verbose:
        print(
            f"kser: {split.name}: refit on train + val ({len(rows)} clips), "
            f"{selection.best_epoch} epochs"
        )
    train(
        model,
        data,
        None,
        run_dir=split_dir / "refit",
        epochs=selection.best_epoch,
        learning_rate=config.learning_rate,
        weight_decay=config.weight_decay,
        class_weights=_balanced_class_weights(labels[rows]) if config.class_weights else None,
        seed=config.seed,
        verbose=verbose,
        adversarial_training=config.training_attack(),
    )
    return model, normalizer


def selected_splits(splits, names):
    if not names:
        return splits
    known = {split.name: split for split in splits}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise KserConfigError(
            f"unknown fold(s) {unknown}; this protocol has {sorted(known)}. Received: folds={names}"
        )
    return [known[name] for name in names]


def _balanced_class_weights(train_labels: np.ndarray) -> dict[int, float]:
    """Inverse-frequency weights (scikit-learn's "balanced") of the classes in training."""
    classes, counts = np.unique(train_labels, return_counts=True)
    weights = len(train_labels) / (len(classes) * counts)
    return {int(c): float(w) for c, w in zip(classes, weights, strict=True)}


def _speakers(corpus, rows) -> list[str]:
    return sorted(corpus.manifest["speaker"].iloc[rows].astype(str).unique().tolist())


def _describe_split(split, corpus) -> str:
    return "; ".join(
        f"{part} {len(rows)} clips ({', '.join(_speakers(corpus, rows))})"
        for part, rows in split.parts().items()
    )


def _tracked_run(tracker, name, run_dir):
    import contextlib

    if tracker is None:
        return contextlib.nullcontext(None)
    return tracker.run(name, run_dir)


def _log_run_directory(run, split_dir: Path) -> None:
    """Report files and the bundle; checkpoints stay local (the bundle holds the model)."""
    for entry in sorted(split_dir.iterdir()):
        if entry.name in ("checkpoints", "refit") or entry.name.startswith("."):
            continue
        if entry.is_dir():
            run.log_artifacts(entry, entry.name)
        else:
            run.log_artifact(entry)
