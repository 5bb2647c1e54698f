"""The openSMILE worker process: numpy waveforms in on stdin, functionals out on stdout.

    python -m kser.features.opensmile_worker eGeMAPSv02 Functionals 16000

openSMILE runs in a process of its own because loading its library after
TensorFlow's corrupts the heap ("malloc(): invalid size" on the first clip),
and kser imports TensorFlow first. This module imports numpy and opensmile
only. Each request is one `(batch, n_samples)` float32 array (`send`), each
answer the `(batch, n_values)` float32 functionals, NaN (digital silence)
as 0.
"""

from __future__ import annotations

import sys

import numpy as np


def send(stream, array: np.ndarray) -> None:
    """Write a 2-D float32 `array` to the binary `stream`: its shape (2 int64), then its bytes."""
    array = np.ascontiguousarray(array, dtype="<f4")
    stream.write(np.asarray(array.shape, dtype="<i8").tobytes() + array.tobytes())
    stream.flush()


def receive(stream) -> np.ndarray | None:
    """The next array `send` wrote to `stream`, or None when the stream has ended."""
    header = stream.read(16)
    if len(header) < 16:
        return None
    shape = tuple(int(n) for n in np.frombuffer(header, dtype="<i8"))
    size = shape[0] * shape[1] * 4
    data = stream.read(size)
    if len(data) < size:
        return None
    return np.frombuffer(data, dtype="<f4").reshape(shape)


def serve(feature_set: str, feature_level: str, sample_rate: int, requests, answers) -> None:
    """Answer every array read from the binary stream `requests` until it ends."""
    import opensmile

    smile = opensmile.Smile(
        feature_set=getattr(opensmile.FeatureSet, feature_set),
        feature_level=getattr(opensmile.FeatureLevel, feature_level),
    )
    while (waves := receive(requests)) is not None:
        rows = [smile.process_signal(wave, sample_rate).to_numpy()[0] for wave in waves]
        values = np.asarray(rows, dtype=np.float32).reshape(len(waves), -1)
        send(answers, np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0))


def main() -> None:
    feature_set, feature_level, sample_rate = sys.argv[1], sys.argv[2], int(sys.argv[3])
    answers = sys.stdout.buffer
    # Anything a library prints must not mix into the binary answers.
    sys.stdout = sys.stderr
    serve(feature_set, feature_level, sample_rate, sys.stdin.buffer, answers)


if __name__ == "__main__":
    main()
