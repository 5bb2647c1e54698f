"""Download nEMO from Hugging Face into the local nEMO layout kser reads fastest.

    python tools/download_nemo.py                       # amu-cai/nEMO -> data/nemo
    python tools/download_nemo.py --out ../shared/nemo  # anywhere
    python tools/download_nemo.py --source saved/nemo   # a dataset saved with save_to_disk

Writes `<out>/data.tsv` (file_id, emotion, raw_text, normalized_text,
speaker_id, gender, age: the upstream table) and `<out>/samples/<stem>.flac`,
mono 16-bit FLAC resampled to `--sample-rate` (16 kHz, kser's rate, so that
no clip is resampled again at every read). Audio is read undecoded
(`Audio(decode=False)`: `datasets` 5 decodes only through torchcodec) and
decoded with soundfile, as `kser.data.load_corpus` does. Every file is
written atomically and clips already on disk are kept, so an interrupted
download resumes; data.tsv is written last, once every clip is there, so a
half-finished folder is never taken for a corpus. A row that cannot be
decoded stops the run with a message naming its file_id.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np
import soundfile
from tqdm import tqdm

from kser.data.audio import SAMPLE_RATE, decode_waveform_bytes
from kser.data.sources import HF_DATASET, NEMO_TABLE, open_huggingface, row_audio_bytes
from kser.errors import KserDataError, KserError
from kser.paths import atomic_write_bytes, atomic_write_text

TABLE_COLUMNS = (
    "file_id",
    "emotion",
    "raw_text",
    "normalized_text",
    "speaker_id",
    "gender",
    "age",
)


def flac_bytes(waveform: np.ndarray, sample_rate: int) -> bytes:
    """`waveform` (float, -1..1) as 16-bit mono FLAC."""
    buffer = io.BytesIO()
    soundfile.write(buffer, np.clip(waveform, -1.0, 1.0), sample_rate, format="FLAC")
    return buffer.getvalue()


def table_cell(value) -> str:
    """A data.tsv cell: tabs and line breaks would split the row (the table is unquoted)."""
    return " ".join(str("" if value is None else value).split())


def download(source: str, out, *, split: str = "train", sample_rate: int = SAMPLE_RATE) -> int:
    """Write `source` (a Hub name or a saved dataset) as a nEMO directory at `out`;
    return the number of clips written (not counting those already there)."""
    out = Path(out)
    dataset = open_huggingface(source, split=split)
    samples = out / "samples"
    rows, written = [], 0
    for index, example in enumerate(tqdm(dataset, desc="nEMO clips", unit="clip")):
        file_id = str(example.get("file_id") or f"clip_{index:05d}.wav").strip()
        target = samples / f"{Path(file_id).stem}.flac"
        if not target.is_file():
            name = f"{source}: {file_id}"
            waveform = decode_waveform_bytes(
                row_audio_bytes(example["audio"], name), sample_rate, name=name
            )
            atomic_write_bytes(target, flac_bytes(waveform, sample_rate))
            written += 1
        rows.append([file_id] + [table_cell(example.get(column)) for column in TABLE_COLUMNS[1:]])
    if not rows:
        raise KserDataError(f"{source}: the {split!r} split has no rows")
    lines = ["\t".join(TABLE_COLUMNS)] + ["\t".join(row) for row in rows]
    atomic_write_text(out / NEMO_TABLE, "\n".join(lines) + "\n")
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=HF_DATASET, help=f"default: {HF_DATASET}")
    parser.add_argument("--out", default="data/nemo", help="nEMO directory (default: data/nemo)")
    parser.add_argument("--split", default="train", help="dataset split (default: train)")
    parser.add_argument("--sample-rate", type=int, default=SAMPLE_RATE, help="default: 16000")
    args = parser.parse_args(argv)
    try:
        written = download(args.source, args.out, split=args.split, sample_rate=args.sample_rate)
    except KserError as error:
        print(f"download_nemo: error: {error}", file=sys.stderr)
        return 2
    print(f"{args.out}: {written} clip(s) written; load it with --data {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
