"""What augmentation buys on unseen speakers: AudioResNet on mel with none, spectral only,
and waveform + spectral augmentation.

    python -m experiments.augmentation_ablation --data /path/to/nemo --out runs/augmentation
    python -m experiments.augmentation_ablation --smoke      # seconds: tiny subset, 1 epoch,
                                                             # a small CNN instead of AudioResNet

Three trainings that differ only in augmentation, all under the `speaker`
protocol with the same model, seed, split and budget:

- `none`: clean training clips;
- `spectral`: the default mel chain on cached features (SpecAugment
  frequency and time masks, noise);
- `waveform_and_spectral`: first the default waveform chain (gain, noise,
  pitch shift, time stretch, reverb) on the decoded training clips, then
  features computed from the augmented audio every epoch, then the spectral
  chain. Slower: features are no longer read from the cache for training.

Validation and test clips are never augmented (`kser.training.augmented_batches`).
Writes into `--out` (default `runs/augmentation_ablation-<time>`): one run
directory per condition (report, metrics.json, bundle), then
augmentation_ablation.md/.csv/.json: UAR and accuracy with 95% bootstrap CIs,
macro-F1, UAR gain over `none`, training time, and McNemar's test between the
two best conditions. Interrupted? Run the same command again.
"""

from __future__ import annotations

import dataclasses
import sys

from experiments.common import (
    experiment_parser,
    metric_row,
    prepare,
    run_variants,
    smoke_config,
    write_table,
)
from experiments.resnet_mel import CONFIG as RESNET_MEL_CONFIG

# condition -> (feature augmentation, waveform augmentation)
CONDITIONS = {
    "none": ("none", "none"),
    "spectral": ("default", "none"),
    "waveform_and_spectral": ("default", "default"),
}
# Augmented training needs more epochs than resnet_mel's clean 30 to pay off.
CONFIG = dataclasses.replace(RESNET_MEL_CONFIG, epochs=40, patience=15)
# The smoke run checks the three pipelines, not the model: a small CNN traces in a
# third of AudioResNet's time (experiments.resnet_mel's smoke run covers AudioResNet).
SMOKE_CONFIG = smoke_config(CONFIG, model="cnn3", model_params={"width": 0.125})


def condition_configs(config) -> dict:
    return {
        name: dataclasses.replace(config, augment=augment, waveform_augment=waveform_augment)
        for name, (augment, waveform_augment) in CONDITIONS.items()
    }


def main(argv=None) -> int:
    from kser.evaluation import compare_runs

    args = experiment_parser(__doc__).parse_args(argv)
    setup = prepare(args, "augmentation_ablation")
    records = run_variants(setup, condition_configs(setup.config(CONFIG, SMOKE_CONFIG)))
    baseline = records["none"]["uar"]
    rows = [
        {**metric_row("condition", name, record), "uar_gain": record["uar"] - baseline}
        for name, record in records.items()
    ]
    comparison = compare_runs([setup.run_dir / name for name in CONDITIONS])
    if comparison.mcnemar is None:
        note = f"McNemar: not run: {comparison.mcnemar_note}"
    else:
        test = comparison.mcnemar
        note = (
            f"McNemar, best two conditions ({test.run_a} vs {test.run_b}), "
            f"{test.n_shared} test clips: p = {test.p_value:.4g} ({test.method})."
        )
    title = "AudioResNet on mel, speaker-independent: augmentation ablation"
    table = write_table(setup.run_dir, "augmentation_ablation", title, rows, note)
    print()
    print(table)
    print(note)
    print(f"\ntable: {setup.run_dir / 'augmentation_ablation.md'} (also .csv, .json)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
