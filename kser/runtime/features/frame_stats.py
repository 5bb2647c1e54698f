"""Zero-crossing rate and RMS energy (`kser.features.frame_stats`) in numpy."""

from __future__ import annotations

import numpy as np

from kser.runtime.features.base import NumpyExtractor
from kser.runtime.features.dsp import centered_frames

ZERO_THRESHOLD = 1e-10


class ZeroCrossingRate(NumpyExtractor):
    """Fraction of sign changes per frame, edge-padded centred frames: `(batch, 1, n_frames)`."""

    name = "zcr"

    def compute(self, waves):
        frame_length = int(self.params["frame_length"])
        left = frame_length // 2
        padded = np.pad(waves, [(0, 0), (left, frame_length - left)], mode="edge")
        negative = (padded < -ZERO_THRESHOLD).astype(np.int32)
        changed = np.abs(np.diff(negative, axis=1))
        # running[:, j]: sign changes among padded samples 0..j; frame t spans
        # [t * hop, t * hop + frame_length).
        running = np.pad(np.cumsum(changed, axis=1), [(0, 0), (1, 0)])
        n_frames = 1 + waves.shape[1] // self.hop_length
        ends = running[:, frame_length - 1 :: self.hop_length][:, :n_frames]
        starts = running[:, :: self.hop_length][:, :n_frames]
        return ((ends - starts) / np.float32(frame_length))[:, None, :]


class RmsEnergy(NumpyExtractor):
    """Root-mean-square amplitude of zero-padded rectangular frames: `(batch, 1, n_frames)`."""

    name = "rms"

    def compute(self, waves):
        frames = centered_frames(waves, int(self.params["frame_length"]), self.hop_length)
        return np.sqrt(np.mean(np.square(frames, dtype=np.float32), axis=-1))[:, None, :]
