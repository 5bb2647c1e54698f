"""tools/download_nemo.py against a Hugging Face dataset built and saved locally (no network)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from kser.data import load_corpus
from tests.helpers import tone, write_audio
from tools import download_nemo

ROWS = [
    ("EB0_anger_1.wav", "anger", " EB0", "female", 24000, ".flac"),
    ("EB0_fear_2.wav", "fear", " EB0", "female", 44100, ".wav"),
    ("KD0_sadness_3.wav", "sadness", " KD0", "male", 16000, ".wav"),
]


def save_dataset(tmp_path, rows=ROWS, audio=None):
    """A nEMO-shaped `datasets.Dataset` (encoded audio of several rates), saved to disk."""
    import datasets

    encoded = []
    for index, (file_id, *_, rate, extension) in enumerate(rows):
        path = write_audio(
            tmp_path / f"source{index}{extension}", tone(300 + index, 0.5, rate), rate
        )
        encoded.append({"bytes": path.read_bytes(), "path": file_id})
    dataset = datasets.Dataset.from_dict(
        {
            "file_id": [row[0] for row in rows],
            "audio": audio or encoded,
            "emotion": [row[1] for row in rows],
            "raw_text": ["Ala ma\tkota.", "Zdanie\ndrugie.", "Trzecie."][: len(rows)],
            "normalized_text": ["ala ma kota", "zdanie drugie", "trzecie"][: len(rows)],
            "speaker_id": [row[2] for row in rows],
            "gender": [row[3] for row in rows],
            "age": [27, 27, 30][: len(rows)],
        }
    ).cast_column("audio", datasets.Audio(decode=False))
    dataset.save_to_disk(str(tmp_path / "hf"))
    return tmp_path / "hf"


def test_download_writes_the_nemo_layout_that_kser_loads(tmp_path, capsys):
    out = tmp_path / "nemo"
    assert download_nemo.main(["--source", str(save_dataset(tmp_path)), "--out", str(out)]) == 0
    assert "3 clip(s) written" in capsys.readouterr().out
    header, *lines = (out / "data.tsv").read_text(encoding="utf-8").splitlines()
    assert header.split("\t") == list(download_nemo.TABLE_COLUMNS)
    assert lines[0].split("\t") == [
        "EB0_anger_1.wav", "anger", "Ala ma kota.", "ala ma kota", "EB0", "female", "27"
    ]  # fmt: skip
    assert len(lines) == 3 and all(len(line.split("\t")) == 7 for line in lines)
    for file_id, *_ in ROWS:
        info = soundfile.info(out / "samples" / file_id.replace(".wav", ".flac"))
        assert (info.format, info.samplerate, info.channels) == ("FLAC", 16000, 1)
        assert info.frames == 8000  # 0.5 s, whatever the source rate
    corpus = load_corpus(out, verbose=False)
    assert list(corpus.manifest["emotion"]) == ["anger", "fear", "sadness"]
    assert list(corpus.manifest["speaker"]) == ["EB0", "EB0", "KD0"]
    # Resampled, not merely relabelled: the 301 Hz tone of the 44.1 kHz row is still 301 Hz.
    samples, rate = soundfile.read(out / "samples" / "EB0_fear_2.flac")
    spectrum = np.abs(np.fft.rfft(samples))
    assert np.fft.rfftfreq(len(samples), 1 / rate)[spectrum.argmax()] == pytest.approx(301, abs=2)


def test_a_second_run_keeps_the_clips_already_written(tmp_path, capsys):
    source, out = save_dataset(tmp_path), tmp_path / "nemo"
    assert download_nemo.download(str(source), out) == 3
    clip = out / "samples" / "KD0_sadness_3.flac"
    clip.write_bytes(clip.read_bytes())  # a marker: a rewrite would change the mtime
    stamp = clip.stat().st_mtime_ns
    assert download_nemo.download(str(source), out) == 0
    assert clip.stat().st_mtime_ns == stamp


def test_an_undecodable_row_stops_with_its_file_id_and_no_table(tmp_path, capsys):
    good = write_audio(tmp_path / "good.wav", tone(300, 0.5))
    audio = [{"bytes": good.read_bytes(), "path": None}, {"bytes": b"not audio" * 50, "path": None}]
    source = save_dataset(tmp_path, ROWS[:2], audio=audio)
    out = tmp_path / "nemo"
    assert download_nemo.main(["--source", str(source), "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert "EB0_fear_2.wav: cannot decode audio" in error and "Traceback" not in error
    assert not (out / "data.tsv").exists()  # a half-written folder is never a corpus


def test_a_missing_source_is_a_one_line_error(tmp_path, capsys):
    assert download_nemo.main(["--source", str(tmp_path / "absent"), "--out", str(tmp_path)]) == 2
    assert "cannot load Hugging Face dataset" in capsys.readouterr().err
