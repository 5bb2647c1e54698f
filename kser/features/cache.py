"""The on-disk feature cache: sharded TFRecords under `<cache root>/features/`.

One feature set (one cache key) is one directory:

    <root>/features/<feature>-<key[:16]>/
        meta.json               the key, everything it was computed from, the shape
        shard-00000.tfrecord    manifest rows 0 .. shard_size-1, one record each
        shard-00000.json        that shard's record count, byte size and sha256
        ...
        COMPLETE                written last, once every shard is in place

The key is a sha256 over everything that changes feature values: feature name
and parameters (sample rate included), clip length and cropping, the feature
code version, and every clip's path, size and modification time (size + mtime,
like make: hashing 3,400 audio files on every run would cost more than reading
the cache). Labels are not in the key: records hold the manifest row index, and
labels and speakers are joined from the manifest when the features are read.

Every file appears under its final name only once complete (temporary name,
then `os.replace`); a shard counts only when its size and sha256 match its
`.json`. So an interrupted extraction keeps its finished shards and resumes
after them, and a truncated, corrupt or stale shard is rebuilt, never read.
A record is the row index (int64) then the feature (float32, `meta.json`'s
shape), little-endian, no tf.train.Example around them: every record has the
same size, so a verified shard maps straight into numpy without parsing
(`tf.io.decode_raw` reads them too). float32, not float16: float16 would halve
the size but overflows on raw power spectra (values above 65504) and flushes
quiet bins to zero.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np

from kser.errors import KserDataError, KserFeatureError
from kser.paths import atomic_write_json, atomic_write_text, cache_root

# Bump when the layout or record format changes: old directories then miss.
CACHE_FORMAT_VERSION = "1"
SHARD_SIZE = 256
FEATURES_FOLDER = "features"
COMPLETE_MARKER = "COMPLETE"


def key_inputs(paths, extractor, clip_seconds: float, clip_mode: str = "center") -> dict:
    """Everything that determines the cached values, as a JSON-ready dict."""
    # Imported here, like TensorFlow below: `kser cache ls` needs neither.
    from kser.features.base import FEATURE_CODE_VERSION

    if "sample_rate" not in extractor.params:
        raise KserFeatureError(
            f"{extractor.name}: extractor params must include sample_rate. "
            f"Received: params={extractor.params!r}"
        )
    return {
        "cache_format": CACHE_FORMAT_VERSION,
        "feature_code": FEATURE_CODE_VERSION,
        "feature": extractor.name,
        "params": extractor.params,
        "clip_seconds": float(clip_seconds),
        "clip_mode": clip_mode,
        "files": [_file_fingerprint(path) for path in paths],
    }


def cache_key(inputs: dict) -> str:
    canonical = json.dumps(inputs, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def features_root(root=None) -> Path:
    return Path(root if root is not None else cache_root()) / FEATURES_FOLDER


def feature_directory(root, feature: str, key: str) -> Path:
    return features_root(root) / f"{feature}-{key[:16]}"


def shard_path(directory: Path, number: int) -> Path:
    return Path(directory) / f"shard-{number:05d}.tfrecord"


def _shard_record_path(directory: Path, number: int) -> Path:
    return shard_path(directory, number).with_suffix(".json")


@contextlib.contextmanager
def locked(directory: Path):
    """Hold an exclusive lock on `directory` so one process at a time extracts into it."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def prepare_directory(directory: Path, meta: dict) -> None:
    """Make `directory` hold `meta`; call under `locked`.

    Leftover temporary files are from interrupted writes (the lock rules out a
    live writer) and are deleted. A meta.json that differs from `meta` means
    the directory is stale (or a 64-bit prefix collision): it is emptied.
    """
    for leftover in directory.glob(".*.tmp"):
        leftover.unlink()
    stored = read_meta(directory)
    if stored is not None and stored != meta:
        _warn(f"{directory}: cache metadata does not match this request; rebuilding it")
        for entry in directory.iterdir():
            if entry.name != ".lock":
                entry.unlink()
        stored = None
    if stored is None:
        atomic_write_json(directory / "meta.json", meta)


def read_meta(directory: Path) -> dict | None:
    try:
        return json.loads((Path(directory) / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def shards_to_build(directory: Path, n_clips: int, shard_size: int) -> list[int]:
    """Numbers of the shards that are missing or unusable; warns about each damaged one."""
    to_build = []
    for number in range(-(-n_clips // shard_size)):
        expected = min(shard_size, n_clips - number * shard_size)
        problem = shard_problem(directory, number, expected)
        if problem is None:
            continue
        # A shard never written is ordinary (a first run, a resume); a damaged one is news.
        if problem != "missing" or _read_shard_record(directory, number) is not None:
            _warn(f"{shard_path(directory, number)} {problem}; rebuilding it")
        to_build.append(number)
    return to_build


def shard_problem(directory: Path, number: int, expected_records: int) -> str | None:
    """Why shard `number` cannot be used, or None when it is whole and unchanged."""
    path = shard_path(directory, number)
    record = _read_shard_record(directory, number)
    if not path.is_file():
        return "missing"
    if record is None:
        return "has no checksum record (its write was interrupted)"
    if record["records"] != expected_records:
        return f"holds {record['records']} records, expected {expected_records}"
    size = path.stat().st_size
    if size != record["bytes"]:
        return f"is {size} bytes, expected {record['bytes']} (truncated or overwritten)"
    if _file_sha256(path) != record["sha256"]:
        return "does not match its sha256 (corrupt)"
    return None


def mark_incomplete(directory: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        (directory / COMPLETE_MARKER).unlink()


def mark_complete(directory: Path, n_clips: int) -> None:
    if not (directory / COMPLETE_MARKER).is_file():
        atomic_write_text(directory / COMPLETE_MARKER, f"{n_clips} clips\n")


class ShardWriter:
    """Writes one shard under a temporary name; `finish()` publishes it with its checksum."""

    def __init__(self, directory: Path, number: int):
        self.directory = Path(directory)
        self.number = number
        self.records = 0
        final = shard_path(self.directory, number)
        self._temporary = final.with_name(f".{final.name}.{os.getpid()}.tmp")
        # A replaced shard must never be paired with the old shard's checksum.
        with contextlib.suppress(FileNotFoundError):
            _shard_record_path(self.directory, number).unlink()
        import tensorflow as tf

        self._writer = tf.io.TFRecordWriter(str(self._temporary))

    def add(self, index: int, feature: np.ndarray) -> None:
        payload = np.int64(index).astype("<i8").tobytes()
        self._writer.write(payload + np.ascontiguousarray(feature, dtype="<f4").tobytes())
        self.records += 1

    def finish(self) -> None:
        self._writer.close()
        final = shard_path(self.directory, self.number)
        record = {
            "records": self.records,
            "bytes": self._temporary.stat().st_size,
            "sha256": _file_sha256(self._temporary),
        }
        os.replace(self._temporary, final)
        atomic_write_json(_shard_record_path(self.directory, self.number), record)

    def abort(self) -> None:
        self._writer.close()
        with contextlib.suppress(FileNotFoundError):
            self._temporary.unlink()


def read_shard(directory: Path, number: int, feature_shape) -> tuple[np.ndarray, np.ndarray]:
    """Row indices `(n,)` and features `(n, *feature_shape)` of one shard.

    The bytes are checked against the shard's sha256 as they are read, so a
    shard changed after extraction raises instead of being read.
    """
    path = shard_path(directory, number)
    record = _read_shard_record(directory, number)
    data = path.read_bytes() if path.is_file() else b""
    frame = _frame_dtype(feature_shape)
    if (
        record is None
        or len(data) != record["records"] * frame.itemsize
        or hashlib.sha256(data).hexdigest() != record["sha256"]
    ):
        raise KserFeatureError(
            f"{path}: shard is missing or changed since extraction; "
            "run the extraction again to rebuild it"
        )
    frames = np.frombuffer(data, dtype=frame)
    if np.any(frames["length"] != frame["index"].itemsize + frame["feature"].itemsize):
        raise KserFeatureError(f"{path}: records do not have the shape in meta.json")
    # Read-only strided views into `data`; the caller copies them where they belong.
    return frames["index"], frames["feature"]


def _frame_dtype(feature_shape) -> np.dtype:
    """One TFRecord frame of ours: length, its crc, row index, feature, data crc."""
    return np.dtype(
        [
            ("length", "<u8"),
            ("length_crc", "<u4"),
            ("index", "<i8"),
            ("feature", "<f4", tuple(feature_shape)),
            ("data_crc", "<u4"),
        ]
    )


def list_cache(root=None) -> list[dict]:
    """One dict per cached feature set: key, feature, clips, bytes, complete, directory."""
    entries = []
    base = features_root(root)
    for directory in sorted(base.iterdir()) if base.is_dir() else []:
        if not directory.is_dir():
            continue
        meta = read_meta(directory) or {}
        entries.append(
            {
                "key": meta.get("key", "?"),
                "feature": meta.get("feature", directory.name.rsplit("-", 1)[0]),
                "params": meta.get("params", {}),
                "clips": meta.get("n_clips", 0),
                "bytes": sum(f.stat().st_size for f in directory.iterdir() if f.is_file()),
                "complete": (directory / COMPLETE_MARKER).is_file(),
                "directory": str(directory),
            }
        )
    return entries


def clear_cache(root=None, feature: str | None = None) -> int:
    """Delete cached feature sets (only those of `feature` when given); returns how many."""
    removed = 0
    for entry in list_cache(root):
        if feature is None or entry["feature"] == feature:
            shutil.rmtree(entry["directory"])
            removed += 1
    return removed


def _file_fingerprint(path) -> list:
    try:
        status = os.stat(path)
    except OSError as error:
        raise KserDataError(f"{path}: audio file not found ({error.strerror})") from None
    return [str(path), status.st_size, status.st_mtime_ns]


def _read_shard_record(directory: Path, number: int) -> dict | None:
    try:
        return json.loads(_shard_record_path(directory, number).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def _warn(message: str) -> None:
    print(f"kser: warning: {message}", file=sys.stderr)
