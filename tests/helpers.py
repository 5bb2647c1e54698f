"""Helpers shared by test modules: synthetic signals and corpora, the torch-backend runner.

Fixtures live in tests/conftest.py; plain functions and constants here, imported by name.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile

from kser.data.labels import EMOTIONS

REPO_ROOT = Path(__file__).resolve().parents[1]
# Seven speakers with nEMO's gender mix (3 female, 4 male).
SYNTHETIC_SPEAKERS = {
    "F1": "female",
    "F2": "female",
    "F3": "female",
    "M1": "male",
    "M2": "male",
    "M3": "male",
    "M4": "male",
}


def run_under_torch(module: str, *args) -> str:
    """Run `python -m module args` with KERAS_BACKEND=torch (read when Keras is imported,
    so another backend needs its own process); its stdout, after asserting it succeeded."""
    result = subprocess.run(
        [sys.executable, "-m", module, *map(str, args)],
        cwd=REPO_ROOT,
        env={**os.environ, "KERAS_BACKEND": "torch"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-5000:]
    return result.stdout


def tone(frequency=440.0, seconds=1.0, sample_rate=16000, amplitude=0.5):
    """A sine tone, float32."""
    t = np.arange(int(round(seconds * sample_rate))) / sample_rate
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def write_audio(path, samples, sample_rate=16000, subtype=None):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, samples, sample_rate, subtype=subtype)
    return path


def make_nemo_directory(
    root,
    clips_per_emotion=2,
    seconds=0.3,
    sample_rate=24000,
    speakers=SYNTHETIC_SPEAKERS,
    emotions=EMOTIONS,
):
    """A corpus in the upstream nEMO layout; each emotion gets its own pitch."""
    root = Path(root)
    rows = ["file_id\temotion\traw_text\tnormalized_text\tspeaker_id\tgender\tage"]
    for speaker, gender in speakers.items():
        for e, emotion in enumerate(emotions):
            for k in range(clips_per_emotion):
                stem = f"{speaker}_{emotion}_{k}"
                extension = ".flac" if k % 2 == 0 else ".wav"
                samples = tone(200.0 + 50 * e + 5 * k, seconds, sample_rate)
                write_audio(root / "samples" / f"{stem}{extension}", samples, sample_rate)
                rows.append(
                    f"{stem}.wav\t{emotion}\tZdanie {k}.\tzdanie {k}\t   {speaker}\t{gender}\t30"
                )
    (root / "data.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root
