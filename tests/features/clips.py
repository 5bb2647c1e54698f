"""A tiny corpus of synthetic clips for the feature pipeline and cache tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tests.helpers import tone, write_audio

SAMPLE_RATE = 16000
CLIP_SECONDS = 0.5


def write_manifest(folder, n_clips=6, amplitudes=None, speakers=None) -> pd.DataFrame:
    """`n_clips` half-second tones, each with its own pitch, written as WAV into `folder`.

    `amplitudes` and `speakers` (one per clip) default to 0.3 and two
    alternating speakers.
    """
    amplitudes = [0.3] * n_clips if amplitudes is None else amplitudes
    speakers = [f"S{i % 2}" for i in range(n_clips)] if speakers is None else speakers
    rows = []
    for i in range(n_clips):
        samples = tone(200.0 + 60.0 * i, CLIP_SECONDS, SAMPLE_RATE, amplitudes[i])
        path = write_audio(folder / f"clip_{i}.wav", samples, SAMPLE_RATE)
        rows.append(
            {
                "path": str(path),
                "emotion": "neutral",
                "speaker": speakers[i],
                "gender": "unknown",
                "text": "",
                "duration": CLIP_SECONDS,
            }
        )
    return pd.DataFrame(rows)


def rewrite_clip(path, amplitude) -> None:
    """Replace a clip's audio (new size or content, new mtime)."""
    samples = tone(330.0, CLIP_SECONDS, SAMPLE_RATE, amplitude)
    write_audio(path, np.concatenate([samples, samples[:160]]), SAMPLE_RATE)
