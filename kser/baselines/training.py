"""`train_classic_split`: one split of `kser.training.run_experiment` for a classic classifier.

The same steps as a Keras model's split, so the two compare on equal terms:
the split's file lists, the normalizer fitted on training clips (speaker
priors included), validation clips choosing the settings (C and gamma, the
boosting rounds), the speaker prior's weight and speaker adaptation, the
test report and the bundle. Training sees each training clip once, normalized
with its whole speaker's statistics (no augmentation: the features are one
fixed vector per clip).
"""

from __future__ import annotations

import dataclasses
import time

from kser.baselines.model import build_classifier, flatten
from kser.paths import atomic_write_json

SELECTION_FILE = "classifier_selection.json"


def train_classic_split(corpus, config, split, split_dir, extractor, feature_set, verbose):
    """Train `config.model` on `split`, write its report and bundle into `split_dir`;
    returns the `SplitOutcome` (its `training` is the selection record)."""
    from kser.data.splits import write_split
    from kser.evaluation import write_report
    from kser.inference.bundle import Bundle, save_bundle
    from kser.speakers.adaptation import SpeakerAdaptation
    from kser.training import run

    write_split(split, corpus, split_dir)
    labels = corpus.label_indices
    normalizer = feature_set.fit_normalizer(
        config.normalization, split.train, prior_clips=config.prior_clips
    )

    def rows_of(indices):
        speakers = feature_set.speakers[indices]
        return flatten(normalizer.transform(feature_set.as_numpy()[indices], speakers))

    classifier = build_classifier(
        config.model, len(corpus.labels), seed=config.seed, **config.model_params
    )
    start = time.perf_counter()
    selection = classifier.fit(
        rows_of(split.train), labels[split.train], rows_of(split.val), labels[split.val]
    )
    seconds = time.perf_counter() - start
    atomic_write_json(split_dir / SELECTION_FILE, {**selection, "seconds": round(seconds, 1)})
    split_info = run.split_summary(corpus, split)
    bundle = Bundle(
        model=classifier,
        extractors=extractor,
        normalizers=normalizer,
        labels=tuple(corpus.labels),
        clip_seconds=config.clip_seconds,
        info={
            "model": {"name": config.model, "params": classifier.params},
            "protocol": config.protocol,
            "split": split_info,
            "training": {"classifier": classifier.describe(), "seconds": round(seconds, 1)},
            "corpus": corpus.source,
            # Classic classifiers have no embedding: the graph compares their input vectors.
            "speaker_adaptation": (
                SpeakerAdaptation(graph="input").to_dict() if config.speaker_adaptation else None
            ),
        },
    )
    bundle = run._fit_speaker_settings(
        bundle, corpus, split.val, feature_set, split_dir, config.seed
    )
    if bundle.speaker_adaptation is not None:
        bundle = run._calibrate_adaptation(bundle, corpus, split.val, feature_set, config.seed)
    evaluation = bundle.evaluate(corpus, split.test, feature_set=feature_set, seed=config.seed)
    unadapted = run._unadapted_scores(bundle, corpus, split.test, feature_set, config.seed)
    bundle.info["metrics"] = {
        key: evaluation.to_dict()[key] for key in ("n", "uar", "accuracy", "macro_f1")
    }
    write_report(
        evaluation,
        split_dir,
        title=f"{config.run_name()} — {split.name} (test speakers: "
        f"{', '.join(split_info['test_speakers'])})",
        metadata={
            **dataclasses.asdict(config),
            "split": split_info,
            "feature_shape": list(feature_set.shape),
            "classifier": classifier.describe(),
            "training_seconds": round(seconds, 1),
            **unadapted,
        },
    )
    bundle_dir = save_bundle(bundle, split_dir / "bundle", split=split, corpus=corpus)
    if verbose:
        print(
            f"kser: {split.name}: {config.model} {classifier.params} in {seconds:.0f} s; "
            f"test UAR {evaluation.uar:.3f}, accuracy {evaluation.accuracy:.3f}, macro-F1 "
            f"{evaluation.macro_f1:.3f}"
            + "".join(f" (without speaker adaptation {v:.3f})" for v in unadapted.values())
        )
    return run.SplitOutcome(
        split.name,
        split_dir,
        bundle_dir,
        evaluation.to_dict(),
        evaluation=evaluation,
        training=selection,
    )
