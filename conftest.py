"""Settings for every test session, tests/ and notebooks/ alike (notebook kernels inherit them)."""

import os

# numba compiles librosa's kernels for the host CPU, and on some hosts that code segfaults
# (librosa.zero_crossings, seen on an AMD EPYC); see kser/features/reference.py.
os.environ.setdefault("NUMBA_CPU_NAME", "generic")
