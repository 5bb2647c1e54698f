"""Deterministic channel corruptions of waveforms (numpy, scipy, soxr; no TensorFlow).

`parse_channel("telephone+noise:10")` gives a `Channel` whose `apply(waveform,
sample_rate, seed)` corrupts one clip; `corrupted_features` extracts a
corpus's features through it (`kser evaluate --channel`). See docs/channels.md.
"""

from kser.channels.features import corrupted_features
from kser.channels.spec import CLEAN, Channel, clip_seed, parse_channel

__all__ = ["CLEAN", "Channel", "clip_seed", "corrupted_features", "parse_channel"]
