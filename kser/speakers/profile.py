"""A speaker's state that accumulates: the clips of one voice seen so far, saved as JSON.

An application that scores a call or a session clip by clip knows more of
the voice with every clip. A `SpeakerProfile` keeps each clip's raw model
input features (3 s windows), so the next prediction normalizes and adapts
over everything seen so far, exactly as scoring all those clips together
would (`kser.training.Bundle.predict_waveforms(..., profile=...)`). The
file also states the statistics derived from them, for people to read.

Features are stored as base64 of zlib-compressed little-endian float32:
about 11 kB a window for the default functionals, 75 kB for a 64-bin log-mel.
"""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kser.errors import KserDataError
from kser.paths import atomic_write_json

PROFILE_FORMAT = "kser-speaker-profile/1"


@dataclass
class SpeakerProfile:
    """The clips of one speaker seen so far, for the bundle described by `bundle`.

    `bundle`: what the features mean (the bundle's feature description and
    normalization specs); a profile is refused by any other bundle.
    `features`: input name ("" for a single-input bundle) -> `(n, n_bins,
    n_frames)` raw features, one row per window seen. `clips`: the name of
    each window's file.
    """

    bundle: dict
    features: dict[str, np.ndarray] = field(default_factory=dict)
    clips: list[str] = field(default_factory=list)

    @property
    def n_clips(self) -> int:
        return len(self.clips)

    def add(self, features: dict[str, np.ndarray], clips) -> None:
        """Append windows: `features` per input (as in `features`), one name per row."""
        clips = [str(clip) for clip in clips]
        for name, values in features.items():
            values = np.asarray(values, dtype=np.float32)
            if len(values) != len(clips):
                raise KserDataError(
                    f"a profile update needs one clip name per feature row. Received: "
                    f"{len(values)} rows of {name!r}, {len(clips)} names"
                )
            if name in self.features and values.shape[1:] != self.features[name].shape[1:]:
                raise KserDataError(
                    f"features of {name!r} have shape {values.shape[1:]}; the profile holds "
                    f"{self.features[name].shape[1:]}"
                )
            previous = self.features.get(name, values[:0])
            self.features[name] = np.concatenate([previous, values])
        self.clips += clips

    def statistics(self) -> dict:
        """Per input: clips seen and the per-bin mean and std of their raw features."""
        return {
            name: {
                "clips": len(values),
                "mean": values.mean(axis=(0, 2)).tolist(),
                "std": values.std(axis=(0, 2)).tolist(),
            }
            for name, values in self.features.items()
            if len(values)
        }

    def save(self, path) -> Path:
        """Write the profile to `path` (JSON, atomically)."""
        return atomic_write_json(
            path,
            {
                "format": PROFILE_FORMAT,
                "bundle": self.bundle,
                "clips": self.clips,
                "statistics": self.statistics(),
                "features": {name: _encoded(values) for name, values in self.features.items()},
            },
        )

    @classmethod
    def load(cls, path) -> SpeakerProfile:
        """Read a profile; `KserDataError` naming `path` if it is not a readable one."""
        path = Path(path)
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(record, dict) or record.get("format") != PROFILE_FORMAT:
                raise ValueError(f"not a {PROFILE_FORMAT} file")
            features = {name: _decoded(value) for name, value in record["features"].items()}
            clips = [str(clip) for clip in record["clips"]]
            bundle = dict(record["bundle"])
        except (OSError, ValueError, KeyError, TypeError, zlib.error) as error:
            raise KserDataError(f"{path}: cannot read speaker profile ({error})") from None
        if any(len(values) != len(clips) for values in features.values()):
            raise KserDataError(
                f"{path}: speaker profile lists {len(clips)} clips but not as many feature rows"
            )
        return cls(bundle, features, clips)


def _encoded(values: np.ndarray) -> dict:
    data = np.ascontiguousarray(values, dtype="<f4").tobytes()
    return {
        "shape": list(values.shape),
        "float32_zlib_base64": base64.b64encode(zlib.compress(data)).decode("ascii"),
    }


def _decoded(record: dict) -> np.ndarray:
    data = zlib.decompress(base64.b64decode(record["float32_zlib_base64"]))
    return np.frombuffer(data, dtype="<f4").reshape(record["shape"]).astype(np.float32)
