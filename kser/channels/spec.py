"""Channel specs: `telephone`, `noise:SNR`, `reverb:RT60`, chained with `+`.

    channel = parse_channel("telephone+noise:10")
    corrupted = channel.apply(waveform, 16000, clip_seed("SM0_anger_1.wav", 0))

Stages apply left to right. `clean` (or `none`) is the identity, so a sweep
can name its reference like any other condition. The seed of a clip comes
from its file name and a base seed, so every run corrupts it the same way.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kser.channels import ops
from kser.errors import KserConfigError

CLEAN = "clean"
# kind -> (name of its value, lowest, highest); telephone takes no value.
VALUE_RANGES = {"noise": ("SNR in dB", -20.0, 60.0), "reverb": ("RT60 in seconds", 0.05, 3.0)}
KINDS = ("telephone", *VALUE_RANGES)


@dataclass(frozen=True)
class Channel:
    """A chain of corruptions: `stages` holds `(kind, value)` pairs (value None for telephone)."""

    stages: tuple[tuple[str, float | None], ...] = ()

    @property
    def spec(self) -> str:
        """The canonical spec, e.g. "telephone+noise:10" ("clean" for no stage)."""
        if not self.stages:
            return CLEAN
        return "+".join(
            kind if value is None else f"{kind}:{value:g}" for kind, value in self.stages
        )

    def apply(self, waveform: np.ndarray, sample_rate: int, seed: int) -> np.ndarray:
        """`waveform` (1-D) through every stage; each stage draws from its own stream of `seed`."""
        corrupted = np.asarray(waveform, dtype=np.float32)
        for position, (kind, value) in enumerate(self.stages):
            rng = np.random.default_rng([seed, position])
            if kind == "telephone":
                corrupted = ops.telephone(corrupted, sample_rate)
            elif kind == "noise":
                corrupted = ops.add_noise(corrupted, sample_rate, value, rng)
            else:
                corrupted = ops.reverberate(corrupted, sample_rate, value, rng)
        return corrupted


def parse_channel(spec: str) -> Channel:
    """The `Channel` of `spec`; a `KserConfigError` naming the bad part otherwise."""
    if not isinstance(spec, str) or not spec.strip():
        raise KserConfigError(f"channel spec is empty. Received: {spec!r}")
    if spec.strip().lower() in (CLEAN, "none"):
        return Channel()
    return Channel(tuple(_stage(part.strip(), spec) for part in spec.split("+")))


def parse_value(kind: str, text: str, spec: str) -> float:
    """The number `text` of a `kind` stage, checked against `VALUE_RANGES`."""
    name, low, high = VALUE_RANGES[kind]
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:
        raise KserConfigError(
            f"channel {spec!r}: {kind} takes an {name} from {low:g} to {high:g}. Received: {text!r}"
        )
    return value


def clip_seed(clip_id, base_seed: int = 0) -> int:
    """A 63-bit seed of a clip, from its file name (not its folder: copies of a corpus agree)."""
    text = f"{int(base_seed)}/{Path(str(clip_id)).name}"
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little") >> 1


def _stage(part: str, spec: str) -> tuple[str, float | None]:
    kind, separator, text = part.partition(":")
    kind = kind.strip().lower()
    if kind not in KINDS:
        raise KserConfigError(
            f"channel {spec!r}: unknown stage {part!r} (known: telephone, noise:SNR, reverb:RT60, "
            "joined by '+')"
        )
    if kind == "telephone":
        if separator:
            raise KserConfigError(f"channel {spec!r}: telephone takes no value. Received: {part!r}")
        return kind, None
    if not separator:
        raise KserConfigError(f"channel {spec!r}: {kind} needs a value, e.g. {kind}:10")
    return kind, parse_value(kind, text.strip(), spec)
