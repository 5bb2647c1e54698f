"""Adversarial robustness: FGSM and PGD on a bundle's features or on its audio.

sweep = attack_sweep(load_bundle("runs/x"), corpus, rows, [Attack("fgsm", 0.1)])
sweep.points[0].result.uar          # UAR under attack; sweep.clean: kser evaluate's

`kser attack` (`kser.adversarial.command`) runs a sweep and writes its report;
`kser train --adversarial-training fgsm:EPS` trains on clean and adversarial
batches (`kser.adversarial.training`).
"""

import importlib

# Imported on first use, so `kser attack --help` does not load TensorFlow.
_EXPORTS = {
    "METHODS": "kser.adversarial.attacks",
    "Attack": "kser.adversarial.attacks",
    "parse_attack": "kser.adversarial.attacks",
    "DOMAINS": "kser.adversarial.sweep",
    "AttackSweep": "kser.adversarial.sweep",
    "SweepPoint": "kser.adversarial.sweep",
    "attack_sweep": "kser.adversarial.sweep",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
