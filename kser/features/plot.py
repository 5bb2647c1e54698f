"""One figure with all 13 representations of a clip (`kser features plot`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from kser import features

PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
TONNETZ_AXES = ("fifth x", "fifth y", "minor x", "minor y", "major x", "major y")
# What the rows of each image are.
ROW_LABELS = {
    "mel": "mel band",
    "stft": "frequency (kHz)",
    "mfcc": "coefficient",
    "cqt": "CQT bin (semitones above fmin)",
    "chroma": "pitch class",
    "tonnetz": "tonal centroid",
    "hpss": "mel band (harmonic | percussive)",
    "zcr": "zero-crossing rate",
    "rms": "RMS amplitude",
    "contrast": "octave band",
    "tempogram": "lag (s)",
    "delta_mfcc": "coefficient",
    "delta_tempogram": "lag (s)",
}


def plot_all_features(waveform, sample_rate: int, out_path) -> Path:
    """Draw every feature of `waveform` (1-D float array) in one PNG at `out_path`."""
    waves = np.asarray(waveform, dtype=np.float32)[None, :]
    names = features.names()
    n_columns = 2
    n_rows = -(-len(names) // n_columns)
    figure = Figure(figsize=(7 * n_columns, 2.4 * n_rows), layout="constrained")
    axes = figure.subplots(n_rows, n_columns, squeeze=False).ravel()
    for ax, name in zip(axes, names, strict=False):
        extractor = features.get(name, sample_rate=sample_rate)
        image = extractor(waves).numpy()[0]
        seconds = extractor.hop_length / sample_rate
        _draw(figure, ax, name, image, seconds, extractor)
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out_path, dpi=80)
    return out_path


def _draw(figure, ax, name, image, seconds_per_frame, extractor):
    duration = image.shape[1] * seconds_per_frame
    ax.set_title(f"{name}  {image.shape[0]} x {image.shape[1]}")
    ax.set_xlabel("time (s)")
    ax.set_ylabel(ROW_LABELS[name])
    if image.shape[0] == 1:
        ax.plot(np.arange(image.shape[1]) * seconds_per_frame, image[0])
        ax.set_xlim(0, duration)
        return
    top = image.shape[0]
    if name == "stft":
        top = extractor.sample_rate / 2000
    elif name in ("tempogram", "delta_tempogram"):
        top = image.shape[0] * seconds_per_frame
    shown = ax.imshow(
        image, origin="lower", aspect="auto", extent=(0, duration, 0, top), interpolation="nearest"
    )
    if name == "chroma":
        ax.set_yticks(np.arange(12) + 0.5, PITCH_CLASSES, fontsize=6)
    elif name == "tonnetz":
        ax.set_yticks(np.arange(6) + 0.5, TONNETZ_AXES, fontsize=6)
    figure.colorbar(shown, ax=ax, pad=0.01)
