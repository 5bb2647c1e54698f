"""Pitch: a YIN fundamental-frequency track, and the prosodic functionals built on it.

None of the 13 representations carries the absolute pitch of the voice (chroma
folds it into pitch classes), yet pitch level, range and movement are the
classic cues of arousal. On nEMO (leave-one-speaker-out, per-speaker
z-scored) the 19 `ProsodyFunctionals` alone score about as well as the 2,883
spectral functionals, and the two fused beat either (docs/results.md).

`PitchTrack` is YIN (de Cheveigné and Kawahara, 2002) steps 1-4, as
`librosa.yin` without its parabolic interpolation: on each centred frame the
cumulative-mean-normalized difference function (CMNDF), and the period is the
first trough below `trough_threshold` in [1 / fmax, 1 / fmin] (the deepest
point of that range when none dips below). The CMNDF at that period is the
aperiodicity: near 0 for a clean voiced frame, near 1 for noise. Octave jumps
are kept: a clip's share of them is itself a cue (correcting them to the
clip's median pitch dropped the prosodic UAR above from 0.54 to 0.46).
"""

from __future__ import annotations

import scipy.fft
import tensorflow as tf

from kser.data.audio import SAMPLE_RATE
from kser.errors import KserFeatureError
from kser.features.base import (
    HOP_LENGTH,
    FeatureExtractor,
    check_frequency_range,
    check_positive_float,
    check_positive_int,
)
from kser.features.dsp import bins_first, centered_frames, prefix_sum
from kser.features.frame_stats import DEFAULT_ACTIVE_THRESHOLD, Frames, RmsEnergy, active_frames

# Semitones are counted from A1 = 55 Hz, so typical voices sit between 0 and 40.
SEMITONE_REFERENCE_HZ = 55.0
# Frame-to-frame pitch moves larger than this are octave jumps, not intonation.
MAX_PITCH_STEP = 3.0
# A clip with fewer voiced frames than this describes its pitch over its active frames.
MIN_VOICED_FRAMES = 5


class PitchTrack(FeatureExtractor):
    """Fundamental frequency (semitones re 55 Hz) and aperiodicity per frame.

        kser.features.get("pitch")  # (batch, 2, n_frames)

    Args:
        fmin, fmax: the pitch search range in Hz (60-500: low male to high
            female speech).
        frame_length: samples per frame (1024 = 64 ms: at least two periods of
            `fmin`); the difference function spans its first half.
        trough_threshold: CMNDF below which a trough counts as the period.
        sample_rate, hop_length: the frame grid.

    Output: `(batch, 2, n_frames)`: row 0 the pitch in semitones, row 1 the
    aperiodicity (1 on digital silence).
    """

    name = "pitch"

    def __init__(
        self,
        *,
        fmin=60.0,
        fmax=500.0,
        frame_length=1024,
        trough_threshold=0.15,
        sample_rate=SAMPLE_RATE,
        hop_length=HOP_LENGTH,
    ):
        fmin, fmax = check_frequency_range(fmin, fmax, sample_rate)
        frame_length = check_positive_int("frame_length", frame_length)
        self.shortest_period = int(sample_rate // fmax)
        self.longest_period = int(sample_rate // check_positive_float("fmin", fmin))
        if self.longest_period > frame_length // 2 or self.shortest_period < 1:
            raise KserFeatureError(
                "the periods 1/fmax to 1/fmin must fit in half a frame: need "
                f"sample_rate / fmin <= frame_length / 2. Received: fmin={fmin}, "
                f"fmax={fmax}, frame_length={frame_length}, sample_rate={sample_rate}"
            )
        super().__init__(
            2,
            sample_rate=sample_rate,
            hop_length=hop_length,
            fmin=fmin,
            fmax=fmax,
            frame_length=frame_length,
            trough_threshold=check_positive_float("trough_threshold", trough_threshold),
        )

    def compute(self, waves):
        cmndf = self.cmndf(centered_frames(waves, self.params["frame_length"], self.hop_length))
        search = cmndf[..., self.shortest_period : self.longest_period + 1]
        index = _first_trough_below(search, self.params["trough_threshold"])
        aperiodicity = tf.gather(search, index[..., tf.newaxis], batch_dims=2)[..., 0]
        period = tf.cast(index + self.shortest_period, tf.float32)
        semitones = 12.0 * tf.math.log(self.sample_rate / period / SEMITONE_REFERENCE_HZ)
        semitones /= tf.math.log(2.0)
        return bins_first(tf.stack([semitones, aperiodicity], axis=-1))

    def cmndf(self, frames):
        """YIN's cumulative-mean-normalized difference, lags 0 to the longest period."""
        window = self.params["frame_length"] // 2
        max_lag = self.longest_period
        # Lags past the longest period never reach the search, and samples past
        # window + max_lag never meet the window at a searched lag: both are skipped.
        frames = tf.cast(frames[..., : window + max_lag], tf.float64)  # a small gap of large sums
        # sum_j x[j] x[j + lag] over the window, for every lag at once, by FFT; the
        # circular correlation is linear as long as window + max_lag fits in the FFT.
        # The shortest fast length that does (800 = 2**5 * 5**2 for 778 samples) is a
        # quarter cheaper than the next power of two, 1024.
        fft_length = tf.constant([scipy.fft.next_fast_len(window + max_lag, real=True)])
        spectrum = tf.signal.rfft(frames, fft_length)
        head = tf.signal.rfft(frames[..., :window], fft_length)
        cross = tf.signal.irfft(tf.math.conj(head) * spectrum, fft_length)[..., : max_lag + 1]
        # The window's energy, and the lagged window's: the same plus the squares
        # entering past its end and minus those leaving before its start.
        squares = tf.square(frames)
        window_energy = tf.reduce_sum(squares[..., :window], axis=-1, keepdims=True)
        lagged_energy = window_energy + prefix_sum(
            squares[..., window : window + max_lag] - squares[..., :max_lag]
        )
        difference = tf.maximum(window_energy + lagged_energy - 2.0 * cross[..., 1:], 0.0)
        running = prefix_sum(difference)
        lags = tf.range(1, max_lag + 1, dtype=tf.float64)
        # Digital silence has no period: aperiodicity 1 rather than 0 / 0.
        normalized = tf.where(running > 1e-12, difference * lags / tf.maximum(running, 1e-12), 1.0)
        normalized = tf.concat([tf.ones_like(normalized[..., :1]), normalized], axis=-1)
        return tf.cast(normalized, tf.float32)


def _first_trough_below(values, threshold):
    """Per row: the bottom of the first trough that dips below `threshold`
    (descending from the first value below it), else the row's minimum."""
    size = tf.shape(values)[-1]
    positions = tf.range(size)
    below = values < threshold
    first_below = tf.argmax(tf.cast(below, tf.int32), axis=-1, output_type=tf.int32)
    # A trough's bottom: the next value is no lower (the last position always is).
    bottom = tf.concat([values[..., 1:] >= values[..., :-1], tf.ones_like(below[..., :1])], axis=-1)
    after = bottom & (positions >= first_below[..., tf.newaxis])
    trough = tf.argmax(tf.cast(after, tf.int32), axis=-1, output_type=tf.int32)
    lowest = tf.argmin(values, axis=-1, output_type=tf.int32)
    return tf.where(tf.reduce_any(below, axis=-1), trough, lowest)


PROSODY_VALUES = (
    "pitch_mean",
    "pitch_std",
    "pitch_p5",
    "pitch_p10",
    "pitch_p25",
    "pitch_median",
    "pitch_p75",
    "pitch_p90",
    "pitch_p95",
    "pitch_range_p10_p90",
    "pitch_step_abs_mean",
    "pitch_step_std",
    "pitch_slope",
    "voiced_fraction",
    "voiced_share_of_active",
    "aperiodicity_mean",
    "aperiodicity_std",
    "aperiodicity_p10",
    "aperiodicity_median",
)


class ProsodyFunctionals(FeatureExtractor):
    """19 statistics of a clip's pitch and voicing (`PROSODY_VALUES`, in that order).

        kser.features.get("prosody")  # (batch, 19, 1)

    Pitch statistics are taken over the voiced frames (aperiodicity below
    `voicing_threshold`, among the active frames: RMS energy at least
    `active_threshold` times the clip's loudest frame), or over the active
    frames when fewer than 5 are voiced. Steps are frame-to-frame pitch
    changes between voiced frames, octave jumps (over 3 semitones) left out;
    the slope is a least-squares line through the voiced pitch, in semitones
    per second. Aperiodicity statistics are over the active frames.

    Args:
        voicing_threshold: the aperiodicity below which a frame is voiced.
        active_threshold: the fraction of the loudest frame's RMS energy from
            which a frame is active.
        **pitch_params: `PitchTrack` parameters (`fmin`, `fmax`, ...).

    Normalize with `"speaker+global"`: "high pitch" means high for this voice.
    """

    name = "prosody"

    def __init__(
        self,
        *,
        voicing_threshold=0.35,
        active_threshold=DEFAULT_ACTIVE_THRESHOLD,
        sample_rate=SAMPLE_RATE,
        hop_length=HOP_LENGTH,
        **pitch_params,
    ):
        for name, value in (
            ("voicing_threshold", voicing_threshold),
            ("active_threshold", active_threshold),
        ):
            if not 0 < check_positive_float(name, value) < 1:
                raise KserFeatureError(f"{name} must be in (0, 1). Received: {name}={value!r}")
        self.pitch = PitchTrack(sample_rate=sample_rate, hop_length=hop_length, **pitch_params)
        self.energy = RmsEnergy(sample_rate=sample_rate, hop_length=hop_length)
        pitch_params = {
            key: value
            for key, value in self.pitch.params.items()
            if key not in ("sample_rate", "hop_length")
        }
        super().__init__(
            len(PROSODY_VALUES),
            sample_rate=sample_rate,
            hop_length=hop_length,
            voicing_threshold=float(voicing_threshold),
            active_threshold=float(active_threshold),
            **pitch_params,
        )

    def n_frames(self, n_samples: int) -> int:
        return 1

    def compute(self, waves):
        track = self.pitch(waves)
        semitones, aperiodicity = track[:, :1], track[:, 1:]
        active = active_frames(self.energy(waves), self.params["active_threshold"])
        voiced = active * tf.cast(aperiodicity < self.params["voicing_threshold"], tf.float32)
        enough = tf.reduce_sum(voiced, axis=-1, keepdims=True) >= MIN_VOICED_FRAMES
        voiced = tf.where(enough, voiced, active)

        pitch = Frames(semitones, voiced)
        steps = pitch.change(1)
        steps = Frames(
            steps.values, steps.mask * tf.cast(tf.abs(steps.values) < MAX_PITCH_STEP, tf.float32)
        )
        voicing = Frames(aperiodicity, active)
        levels = {q: pitch.percentile(q) for q in (5, 10, 25, 50, 75, 90, 95)}
        columns = [
            pitch.mean(),
            pitch.std(),
            *levels.values(),
            levels[90] - levels[10],
            steps.abs_mean(),
            steps.std(),
            self._slope(pitch),
            tf.reduce_mean(voiced, axis=-1),
            tf.reduce_sum(voiced, axis=-1) / tf.maximum(tf.reduce_sum(active, axis=-1), 1.0),
            voicing.mean(),
            voicing.std(),
            voicing.percentile(10),
            voicing.percentile(50),
        ]
        return tf.concat(columns, axis=1)[..., tf.newaxis]

    def _slope(self, pitch):
        """Least-squares slope of the pitch over time, in semitones per second."""
        seconds = tf.range(tf.shape(pitch.values)[-1], dtype=tf.float32) * (
            self.hop_length / self.sample_rate
        )
        time = Frames(tf.broadcast_to(seconds, tf.shape(pitch.values)), pitch.mask)
        covariance = pitch.mean(time.centred() * pitch.centred())
        spread = time.variance()
        return tf.where(spread > 0, covariance / tf.maximum(spread, 1e-12), 0.0)
