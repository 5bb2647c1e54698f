"""FGSM and PGD under an L-infinity bound, on any differentiable input.

An attack only needs `gradient(inputs, labels)`: the gradient of the loss with
respect to `inputs` (`kser.adversarial.gradients.input_gradient` for a model's
input features, `kser.adversarial.waveform.WaveformChain.gradient` for audio
through a feature extractor). Everything here is `keras.ops`, so it runs on
NumPy arrays, TensorFlow tensors inside a `tf.function` (a training step) and
torch tensors alike.

- FGSM (Goodfellow et al., 2015): one step of `eps * sign(gradient)`.
- PGD (Madry et al., 2018): from a uniform random start in the eps-ball,
  `steps` steps of `step_size * sign(gradient)`, each projected back onto the
  ball (and into `bounds`).

`bounds` (low, high) is the valid range of the input (e.g. (-1, 1) for audio
samples); the perturbation then shrinks where the clean input is near a bound,
so its L-infinity norm is eps unless clipping took some of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras

METHODS = ("fgsm", "pgd")
PGD_STEPS = 10
# Step size as a multiple of eps / steps: PGD can then cross the whole ball
# (from a corner to the opposite one) and still refine the last steps.
PGD_STEP_SCALE = 2.5


@dataclass(frozen=True)
class Attack:
    """An L-infinity attack: `method` ("fgsm" or "pgd") of radius `eps`.

    PGD takes `steps` steps of `step_size` (default `2.5 * eps / steps`) from a
    uniform random start in the ball (`random_start`), drawn from `seed`.
    """

    method: str
    eps: float
    steps: int = PGD_STEPS
    step_size: float | None = None
    random_start: bool = True
    seed: int = 0

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}. Received: method={self.method!r}")
        if not self.eps >= 0:
            raise ValueError(f"eps must be 0 or positive. Received: eps={self.eps!r}")
        if self.steps < 1:
            raise ValueError(f"steps must be at least 1. Received: steps={self.steps!r}")
        if self.step_size is not None and not self.step_size > 0:
            raise ValueError(f"step_size must be positive. Received: step_size={self.step_size!r}")

    @property
    def pgd_step_size(self) -> float:
        if self.step_size is not None:
            return float(self.step_size)
        return PGD_STEP_SCALE * self.eps / self.steps

    def perturb(self, gradient, inputs, labels, *, bounds=None, seed_generator=None):
        """Adversarial `inputs` (a backend tensor): within `eps` of them in L-infinity.

        Args:
            gradient: `gradient(inputs, labels)` -> the loss's gradient, shaped like inputs.
            inputs: the clean inputs, `(batch, ...)`.
            labels: their true classes (or soft label rows).
            bounds: `(low, high)` valid range of the inputs, or None (unbounded).
            seed_generator: a `keras.random.SeedGenerator` for PGD's random
                start; by default one seeded with `seed` (inside a compiled
                training step pass one created outside it).
        """
        inputs = keras.ops.convert_to_tensor(inputs, dtype="float32")
        if self.eps == 0:
            return inputs
        if self.method == "fgsm":
            step = self.eps * keras.ops.sign(gradient(inputs, labels))
            return _clip(inputs + step, bounds)
        adversarial = inputs
        if self.random_start:
            start = keras.random.uniform(
                keras.ops.shape(inputs),
                minval=-self.eps,
                maxval=self.eps,
                seed=seed_generator or keras.random.SeedGenerator(self.seed),
            )
            adversarial = _clip(inputs + start, bounds)
        for _ in range(self.steps):
            step = self.pgd_step_size * keras.ops.sign(gradient(adversarial, labels))
            adversarial = keras.ops.clip(adversarial + step, inputs - self.eps, inputs + self.eps)
            adversarial = _clip(adversarial, bounds)
        return adversarial


def parse_attack(text: str, seed: int = 0) -> Attack:
    """`"fgsm:0.05"`, `"pgd:0.05"` or `"pgd:0.05:7"` (7 steps) -> `Attack`."""
    method, _, rest = text.partition(":")
    eps_text, _, steps_text = rest.partition(":")
    try:
        eps = float(eps_text)
        steps = int(steps_text) if steps_text else PGD_STEPS
        return Attack(method.strip().lower(), eps, steps=steps, seed=seed)
    except ValueError as error:
        raise ValueError(
            f"an attack is METHOD:EPS[:STEPS] with METHOD in {'|'.join(METHODS)}, e.g. fgsm:0.05 "
            f"or pgd:0.05:7 ({error}). Received: {text!r}"
        ) from None


def _clip(values, bounds):
    if bounds is None:
        return values
    low, high = bounds
    return keras.ops.clip(values, low, high)
