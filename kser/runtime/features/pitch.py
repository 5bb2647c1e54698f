"""The YIN pitch track and the prosodic functionals (`kser.features.pitch`) in numpy.

The difference function is float64 by FFT as there; the track and the
statistics are float32, so thresholds and troughs fall on the same frames.
"""

from __future__ import annotations

import numpy as np

from kser.runtime.features.base import NumpyExtractor
from kser.runtime.features.dsp import bins_first, centered_frames
from kser.runtime.features.frame_stats import RmsEnergy
from kser.runtime.features.functionals import Frames, active_frames

SEMITONE_REFERENCE_HZ = 55.0
MAX_PITCH_STEP = 3.0
MIN_VOICED_FRAMES = 5


class PitchTrack(NumpyExtractor):
    """Pitch (semitones re 55 Hz) and aperiodicity per frame: `(batch, 2, n_frames)`."""

    name = "pitch"

    def __init__(self, node):
        super().__init__(node)
        self.shortest_period = int(self.sample_rate // self.params["fmax"])
        self.longest_period = int(self.sample_rate // self.params["fmin"])

    def compute(self, waves):
        frames = centered_frames(waves, int(self.params["frame_length"]), self.hop_length)
        cmndf = self.cmndf(frames)
        search = cmndf[..., self.shortest_period : self.longest_period + 1]
        index = _first_trough_below(search, np.float32(self.params["trough_threshold"]))
        aperiodicity = np.take_along_axis(search, index[..., None], -1)[..., 0]
        period = (index + self.shortest_period).astype(np.float32)
        ratio = np.float32(self.sample_rate) / period / np.float32(SEMITONE_REFERENCE_HZ)
        semitones = np.float32(12.0) * np.log(ratio) / np.log(np.float32(2.0))
        return bins_first(np.stack([semitones, aperiodicity], axis=-1))

    def cmndf(self, frames):
        """YIN's cumulative-mean-normalized difference, lags 0 to half a frame (float32)."""
        frame_length = int(self.params["frame_length"])
        window = frame_length // 2
        frames = frames.astype(np.float64)
        n_fft = 2 * frame_length
        spectrum = np.fft.rfft(frames, n_fft, axis=-1)
        head = np.fft.rfft(frames[..., :window], n_fft, axis=-1)
        cross = np.fft.irfft(np.conj(head) * spectrum, n_fft, axis=-1)[..., : window + 1]
        energy = np.pad(np.cumsum(np.square(frames), axis=-1), [(0, 0), (0, 0), (1, 0)])
        window_energy = energy[..., window : window + 1] - energy[..., :1]
        lagged_energy = energy[..., window : 2 * window + 1] - energy[..., : window + 1]
        difference = np.maximum(window_energy + lagged_energy - 2.0 * cross, 0.0)[..., 1:]
        running = np.cumsum(difference, axis=-1)
        lags = np.arange(1, window + 1, dtype=np.float64)
        normalized = np.where(running > 1e-12, difference * lags / np.maximum(running, 1e-12), 1.0)
        normalized = np.concatenate([np.ones_like(normalized[..., :1]), normalized], axis=-1)
        return normalized.astype(np.float32)


def _first_trough_below(values, threshold):
    """Per row: the bottom of the first trough below `threshold`, else the row's minimum."""
    positions = np.arange(values.shape[-1])
    below = values < threshold
    first_below = np.argmax(below, axis=-1)
    bottom = np.concatenate(
        [values[..., 1:] >= values[..., :-1], np.ones_like(below[..., :1])], axis=-1
    )
    trough = np.argmax(bottom & (positions >= first_below[..., None]), axis=-1)
    return np.where(np.any(below, axis=-1), trough, np.argmin(values, axis=-1))


class ProsodyFunctionals(NumpyExtractor):
    """The 19 pitch and voicing statistics (`kser.features.pitch.PROSODY_VALUES`)."""

    name = "prosody"

    def __init__(self, node):
        super().__init__(node)
        self.pitch = PitchTrack(node.child("pitch"))
        self.energy = RmsEnergy(node.child("energy"))

    def compute(self, waves):
        track = self.pitch(waves)
        semitones, aperiodicity = track[:, :1], track[:, 1:]
        active = active_frames(self.energy(waves), self.params["active_threshold"])
        voicing_threshold = np.float32(self.params["voicing_threshold"])
        voiced = active * (aperiodicity < voicing_threshold).astype(np.float32)
        enough = np.sum(voiced, axis=-1, keepdims=True) >= MIN_VOICED_FRAMES
        voiced = np.where(enough, voiced, active)

        pitch = Frames(semitones, voiced)
        steps = pitch.change(1)
        small = (np.abs(steps.values) < MAX_PITCH_STEP).astype(np.float32)
        steps = Frames(steps.values, steps.mask * small)
        voicing = Frames(aperiodicity, active)
        levels = {q: pitch.percentile(q) for q in (5, 10, 25, 50, 75, 90, 95)}
        active_count = np.maximum(np.sum(active, axis=-1), np.float32(1.0))
        columns = [
            pitch.mean(),
            pitch.std(),
            *levels.values(),
            levels[90] - levels[10],
            steps.abs_mean(),
            steps.std(),
            self._slope(pitch),
            np.mean(voiced, axis=-1),
            np.sum(voiced, axis=-1) / active_count,
            voicing.mean(),
            voicing.std(),
            voicing.percentile(10),
            voicing.percentile(50),
        ]
        return np.concatenate(columns, axis=1)[..., None]

    def _slope(self, pitch):
        """Least-squares slope of the pitch over time, in semitones per second."""
        step = np.float32(self.hop_length / self.sample_rate)
        seconds = np.arange(pitch.values.shape[-1], dtype=np.float32) * step
        time = Frames(np.broadcast_to(seconds, pitch.values.shape), pitch.mask)
        covariance = pitch.mean(time.centred() * pitch.centred())
        spread = time.variance()
        slope = covariance / np.maximum(spread, np.float32(1e-12))
        return np.where(spread > 0, slope, np.float32(0.0))
