"""Corpus sources: a local nEMO directory, the Hugging Face dataset, or a CSV.

`load_corpus(data)` picks the source and returns a validated `Corpus`. Every
problem raises `KserDataError` naming the file; with `skip_bad=True` bad clips
are dropped instead and listed in `Corpus.skipped`.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile

from kser.data.audio import SAMPLE_RATE, load_waveform
from kser.data.labels import EMOTIONS
from kser.data.manifest import MANIFEST_COLUMNS, Corpus
from kser.errors import KserDataError

HF_DATASET = "amu-cai/nEMO"
NEMO_TABLE = "data.tsv"
NEMO_COLUMNS = ("file_id", "emotion", "speaker_id", "gender")
AUDIO_EXTENSIONS = (".flac", ".wav")


def default_data_locations() -> list[tuple[str, str]]:
    """Where data is looked for when the user names none, in order."""
    locations = []
    if os.environ.get("KSER_DATA"):
        locations.append(("$KSER_DATA", os.environ["KSER_DATA"]))
    locations.append(("./data/nemo", os.path.join("data", "nemo")))
    return locations


def load_corpus(data=None, *, skip_bad: bool = False, verbose: bool = True) -> Corpus:
    """Load a corpus from `data`, or from the first default location that exists.

    `data` may be a nEMO-layout directory, a CSV file, a directory written by
    `datasets.Dataset.save_to_disk`, or a Hugging Face dataset name. With no
    `data`: `$KSER_DATA`, then `./data/nemo`, then the Hugging Face download.
    """
    tried = []
    if data is None:
        for origin, location in default_data_locations():
            if os.path.isdir(location):
                data = location
                break
            named = f"{origin}={location}" if origin.startswith("$") else origin
            tried.append(f"{named} (not a directory)")
        else:
            data = HF_DATASET
            if verbose:
                print(
                    f"kser: no local corpus found; downloading {HF_DATASET} from Hugging Face "
                    "(--data or $KSER_DATA names a local copy)"
                )
    try:
        corpus = _load_from(str(data), skip_bad)
    except KserDataError as error:
        if data != HF_DATASET or not tried:
            raise
        if not os.environ.get("KSER_DATA"):
            tried.insert(0, "$KSER_DATA (not set)")
        raise KserDataError(
            f"no corpus named and none found; tried {', '.join(tried)}, then {error}. "
            "Pass --data (a nEMO directory, a CSV file or a Hugging Face dataset name) "
            "or set $KSER_DATA"
        ) from None
    if verbose:
        print(f"kser: using {corpus.source} ({len(corpus)} clips)")
        if corpus.skipped:
            print(skipped_summary(corpus.skipped))
    return corpus


def _load_from(data: str, skip_bad: bool) -> Corpus:
    path = Path(data)
    if path.is_file() and path.suffix.lower() == ".csv":
        return load_csv(path, skip_bad=skip_bad)
    if path.is_dir() and (path / NEMO_TABLE).is_file():
        return load_nemo_directory(path, skip_bad=skip_bad)
    if path.is_dir() and (path / "dataset_info.json").is_file():
        return load_huggingface(str(path), skip_bad=skip_bad)
    if path.is_dir():
        raise KserDataError(
            f"{path}: not a corpus directory (expected {NEMO_TABLE} and samples/, "
            "or a dataset saved with datasets.save_to_disk)"
        )
    if path.exists():
        raise KserDataError(f"{path}: unsupported corpus file (expected a .csv)")
    if data.count("/") == 1 and not data.startswith((".", "/")):
        return load_huggingface(data, skip_bad=skip_bad)
    raise KserDataError(f"{path}: corpus not found")


def load_nemo_directory(root, *, skip_bad: bool = False) -> Corpus:
    """A directory in the upstream nEMO layout: `data.tsv` plus `samples/`.

    `file_id` says `<stem>.wav`; the clip may be stored as `.wav` or `.flac`.
    """
    root = Path(root).resolve()
    table_path = root / NEMO_TABLE
    if not table_path.is_file():
        raise KserDataError(f"{table_path}: nEMO table not found")
    table = _read_table(table_path, sep="\t", required=NEMO_COLUMNS)
    rows = []
    for number, row in enumerate(table.itertuples(index=False), start=2):
        empty = [column for column in NEMO_COLUMNS if not str(getattr(row, column)).strip()]
        if empty:
            raise KserDataError(f"{table_path}: line {number} has an empty {', '.join(empty)}")
        stem = Path(str(row.file_id)).stem
        candidates = [root / "samples" / f"{stem}{ext}" for ext in AUDIO_EXTENSIONS]
        audio_path = next((c for c in candidates if c.is_file()), candidates[0])
        rows.append(
            {
                "path": str(audio_path),
                "emotion": str(row.emotion).strip(),
                "speaker": str(row.speaker_id).strip(),
                "gender": str(row.gender).strip(),
                "text": str(getattr(row, "raw_text", "") or ""),
            }
        )
    return _validated_corpus(rows, EMOTIONS, f"nEMO directory {root}", table_path, skip_bad)


def load_csv(csv_path, *, skip_bad: bool = False) -> Corpus:
    """A user's CSV with columns `path,label[,speaker][,gender]`.

    Relative paths are resolved against the CSV's folder. Labels keep nEMO's
    order when they are a subset of its emotions, otherwise sorted order.
    Without a speaker column every clip gets speaker "unknown".
    """
    csv_path = Path(csv_path).resolve()
    if not csv_path.is_file():
        raise KserDataError(f"{csv_path}: CSV file not found")
    table = _read_table(csv_path, sep=",", required=("path", "label"))
    rows = []
    for number, row in enumerate(table.to_dict("records"), start=2):
        label = "" if pd.isna(row["label"]) else str(row["label"]).strip()
        if not label:
            raise KserDataError(f"{csv_path}: line {number} has an empty label")
        audio_path = Path(str(row["path"]))
        if not audio_path.is_absolute():
            audio_path = csv_path.parent / audio_path
        rows.append(
            {
                "path": str(audio_path),
                "emotion": label,
                "speaker": _optional_text(row.get("speaker"), "unknown"),
                "gender": _optional_text(row.get("gender"), "unknown"),
                "text": _optional_text(row.get("text"), ""),
            }
        )
    found = {row["emotion"] for row in rows}
    labels = EMOTIONS if found <= set(EMOTIONS) else tuple(sorted(found))
    return _validated_corpus(rows, labels, f"CSV {csv_path}", csv_path, skip_bad)


def load_huggingface(
    name: str = HF_DATASET, *, split: str = "train", skip_bad: bool = False, audio_dir=None
) -> Corpus:
    """The nEMO dataset from Hugging Face (`name`), or a copy saved to disk.

    Audio is read as raw bytes (`Audio(decode=False)`: `datasets` 5 decodes
    only through torchcodec) and written once as files under `audio_dir`
    (default: the kser cache), so the rest of kser works on paths.
    """
    dataset = open_huggingface(name, split=split)
    target = Path(audio_dir) if audio_dir else _hf_audio_dir(name, dataset)
    target.mkdir(parents=True, exist_ok=True)
    rows = []
    for index, example in enumerate(dataset):
        audio = example["audio"]
        file_name = Path(example.get("file_id") or audio.get("path") or f"clip_{index:05d}.wav")
        audio_path = target / file_name.name
        if not audio_path.is_file():
            _write_bytes_atomically(audio_path, row_audio_bytes(audio, name))
        rows.append(
            {
                "path": str(audio_path),
                "emotion": str(example["emotion"]).strip(),
                "speaker": str(example["speaker_id"]).strip(),
                "gender": str(example.get("gender") or "unknown").strip(),
                "text": str(example.get("raw_text") or ""),
            }
        )
    return _validated_corpus(rows, EMOTIONS, f"Hugging Face dataset {name}", name, skip_bad)


def open_huggingface(name: str = HF_DATASET, *, split: str = "train"):
    """The `datasets.Dataset` of nEMO (`name`: a Hub name or a `save_to_disk` folder), its
    audio column undecoded (`{"bytes", "path"}` per row); checked for the columns kser reads.
    """
    try:
        import datasets
    except ImportError:
        raise KserDataError(
            f"{name}: reading Hugging Face datasets needs the `datasets` package"
        ) from None
    try:
        if os.path.isdir(name):
            dataset = datasets.load_from_disk(name)
            if isinstance(dataset, datasets.DatasetDict):
                dataset = dataset[split]
        else:
            dataset = datasets.load_dataset(name, split=split)
    except (FileNotFoundError, ValueError, ConnectionError, OSError, KeyError) as error:
        raise KserDataError(f"{name}: cannot load Hugging Face dataset ({error})") from None
    missing = [c for c in ("audio", "emotion", "speaker_id") if c not in dataset.column_names]
    if missing:
        raise KserDataError(f"{name}: dataset lacks column(s) {', '.join(missing)}")
    return dataset.cast_column("audio", datasets.Audio(decode=False))


def row_audio_bytes(audio: dict, name: str) -> bytes:
    """The encoded audio of one undecoded Hugging Face row: its bytes, else its file's."""
    if audio.get("bytes"):
        return audio["bytes"]
    source = audio.get("path")
    if not source or not os.path.isfile(source):
        raise KserDataError(f"{name}: row has neither audio bytes nor a readable path ({source})")
    return Path(source).read_bytes()


def skipped_summary(skipped) -> str:
    """A short account of which clips `skip_bad` dropped, and why."""
    reasons = Counter(reason.split(" (")[0] for _, reason in skipped)
    lines = [f"kser: skipped {len(skipped)} bad clip(s):"]
    lines += [f"  {count} x {reason}" for reason, count in reasons.most_common()]
    lines += [f"  {path}: {reason}" for path, reason in skipped[:20]]
    if len(skipped) > 20:
        lines.append(f"  ... and {len(skipped) - 20} more")
    return "\n".join(lines)


def _read_table(path: Path, sep: str, required) -> pd.DataFrame:
    try:
        table = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, quoting=3)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise KserDataError(f"{path}: cannot parse table ({error})") from None
    table.columns = [str(c).strip() for c in table.columns]
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise KserDataError(
            f"{path}: missing column(s) {', '.join(missing)} (found: {', '.join(table.columns)})"
        )
    if table.empty:
        raise KserDataError(f"{path}: table has no rows")
    _check_field_counts(path, sep, list(table.columns))
    return table


def _check_field_counts(path: Path, sep: str, columns: list[str]) -> None:
    """Raise on the first row with fewer fields than the header: pandas would silently
    read the missing ones as empty (a clip of speaker "")."""
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines[1:], start=2):
        found = len(line.split(sep))
        if line.strip() and found < len(columns):
            separator = "tabs" if sep == "\t" else f"{sep!r}"
            raise KserDataError(
                f"{path}: line {number} has {found} of the header's {len(columns)} fields "
                f"({', '.join(columns[found:])} missing; fields are separated by {separator})"
            )


def _validated_corpus(rows, labels, source, origin, skip_bad) -> Corpus:
    """Check every clip's label and audio; raise on the first problem or skip it."""
    kept, skipped = [], []
    for row in rows:
        try:
            if row["emotion"] not in labels:
                raise KserDataError(
                    f"{row['path']}: unknown emotion label {row['emotion']!r} in {origin} "
                    f"(known: {', '.join(labels)})"
                )
            row["duration"] = _checked_duration(row["path"], full_decode=skip_bad)
        except KserDataError as error:
            if not skip_bad:
                raise
            skipped.append((row["path"], str(error).split(": ", 1)[-1]))
            continue
        kept.append(row)
    if not kept:
        raise KserDataError(f"{origin}: no usable clips")
    manifest = pd.DataFrame(kept, columns=list(MANIFEST_COLUMNS))
    return Corpus(manifest, tuple(labels), source, skipped)


def _checked_duration(path: str, full_decode: bool) -> float:
    """Duration from the file header; a full decode too when clips may be skipped.

    The header check catches missing, empty and corrupt files up front; NaN and
    silence show only when samples are decoded (then `load_waveform` raises).
    """
    if not os.path.isfile(path):
        raise KserDataError(f"{path}: audio file not found")
    if os.path.getsize(path) == 0:
        raise KserDataError(f"{path}: audio file is empty (0 bytes)")
    try:
        info = soundfile.info(path)
    except (soundfile.LibsndfileError, RuntimeError) as error:
        raise KserDataError(f"{path}: cannot decode audio ({error})") from None
    if info.frames == 0:
        raise KserDataError(f"{path}: audio has no samples")
    if full_decode:
        load_waveform(path, SAMPLE_RATE)
    return info.frames / info.samplerate


def _optional_text(value, default: str) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return default
    return str(value).strip() or default


def _hf_audio_dir(name: str, dataset) -> Path:
    from kser.paths import cache_root

    return cache_root() / "huggingface" / name.replace("/", "__") / dataset._fingerprint


def _write_bytes_atomically(path: Path, data: bytes) -> None:
    from kser.paths import atomic_write_bytes

    atomic_write_bytes(path, data)
