"""Adversarial robustness: FGSM and PGD on a bundle's features or on its audio.

sweep = attack_sweep(load_bundle("runs/x"), corpus, rows, [Attack("fgsm", 0.1)])
sweep.points[0].result.uar          # UAR under attack; sweep.clean: kser evaluate's

`kser attack` (`kser.adversarial.command`) runs a sweep and writes its report;
`kser train --adversarial-training fgsm:EPS` trains on clean and adversarial
batches (`kser.adversarial.training`).
"""

from kser.adversarial.attacks import METHODS, Attack, parse_attack
from kser.adversarial.sweep import DOMAINS, AttackSweep, SweepPoint, attack_sweep

__all__ = [
    "DOMAINS",
    "METHODS",
    "Attack",
    "AttackSweep",
    "SweepPoint",
    "attack_sweep",
    "parse_attack",
]
