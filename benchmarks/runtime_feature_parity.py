"""Each numpy feature of `kser.runtime.features` against kser's TensorFlow extractor, real clips.

    python benchmarks/runtime_feature_parity.py [--data PATH] [--clips 16] [--out DIR]

On `--clips` nEMO clips (every n-th file, 3 s, centre-cropped or zero-padded
as in training), per feature: max |numpy - TensorFlow| in the feature's units
and in units of each value's std over the clips, over all frames and over the
frames with sound (RMS above 1e-4: chroma and tonnetz of digital silence are
normalised rounding noise, see docs/deploy.md), and the extraction time per
clip of each (median of 3, numpy / TensorFlow). Writes
runtime_feature_parity.json into DIR.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np
from onnx_latency import median_seconds  # these scripts run as python benchmarks/<name>.py

from kser import features
from kser.data import load_corpus
from kser.data.audio import load_clip
from kser.export.numpy_front_end import write_numpy_front_end
from kser.paths import atomic_write_json
from kser.runtime.features import EXTRACTORS, load_numpy_extractor

SOUND_RMS = 1e-4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("KSER_DATA", "../shared/nemo"))
    parser.add_argument("--clips", type=int, default=16)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="kser-feature-parity-"))
    out.mkdir(parents=True, exist_ok=True)
    paths = load_corpus(args.data, verbose=False).manifest["path"].tolist()
    paths = paths[:: max(1, len(paths) // args.clips)][: args.clips]
    waves = np.stack([load_clip(path, 16000, 3.0) for path in paths])
    sound = np.asarray(features.get("rms")(waves))[:, 0] > SOUND_RMS  # (clips, frames)
    results = {}
    for name in EXTRACTORS:
        extractor = features.get(name)
        numpy_extractor = _numpy_twin(extractor, out / f"{name}.npz")
        expected = np.asarray(extractor(waves))
        actual = numpy_extractor(waves)
        difference = np.abs(actual - expected)
        spread = expected.std(axis=0)
        in_stds = difference / np.where(spread > 0, spread, 1.0)
        framed = expected.shape[-1] == sound.shape[-1]
        with_sound = sound[:, None, :] if framed else np.ones_like(difference, dtype=bool)
        results[name] = {
            "range": float(np.ptp(expected)),
            "max_abs_diff": float(difference.max()),
            "max_abs_diff_frames_with_sound": float(
                np.max(difference, where=with_sound, initial=0)
            ),
            "max_diff_in_stds": float(in_stds.max()),
            "max_diff_in_stds_frames_with_sound": float(
                np.max(in_stds, where=with_sound, initial=0)
            ),
            "numpy_vs_tensorflow_time": median_seconds(lambda e=numpy_extractor: e(waves), 3)
            / median_seconds(lambda e=extractor: np.asarray(e(waves)), 3),
        }
        print(name, {key: f"{value:.3g}" for key, value in results[name].items()})
    atomic_write_json(out / "runtime_feature_parity.json", {"clips": paths, "features": results})
    print(f"written: {out / 'runtime_feature_parity.json'}")


def _numpy_twin(extractor, path):
    write_numpy_front_end(extractor, path)
    return load_numpy_extractor(path)


if __name__ == "__main__":
    main()
