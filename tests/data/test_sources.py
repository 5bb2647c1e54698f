import numpy as np
import pytest
import soundfile

from kser.cli import main
from kser.data import load_corpus
from kser.data.labels import EMOTIONS
from kser.errors import KserDataError
from tests.helpers import make_nemo_directory, tone, write_audio


def test_nemo_directory_accepts_wav_and_flac_for_the_same_stem(synthetic_nemo):
    corpus = load_corpus(synthetic_nemo)
    manifest = corpus.manifest
    assert len(corpus) == 7 * 6 * 2
    assert list(manifest.columns) == ["path", "emotion", "speaker", "gender", "text", "duration"]
    assert {p.rsplit(".", 1)[1] for p in manifest["path"]} == {"wav", "flac"}
    assert manifest["speaker"].str.strip().equals(manifest["speaker"])  # padding removed
    assert manifest["duration"].to_numpy() == pytest.approx(0.3, abs=1e-3)
    assert corpus.labels == EMOTIONS
    np.testing.assert_array_equal(np.bincount(corpus.label_indices), [14] * 6)


def test_kser_data_then_default_location_is_used(synthetic_nemo, monkeypatch, capsys):
    monkeypatch.setenv("KSER_DATA", str(synthetic_nemo))
    corpus = load_corpus()
    assert str(synthetic_nemo) in corpus.source
    assert "using nEMO directory" in capsys.readouterr().out


def test_csv_source_resolves_relative_paths_and_keeps_other_labels(tmp_path):
    for name in ("a", "b", "c"):
        write_audio(tmp_path / "clips" / f"{name}.wav", tone(300.0, 0.4))
    (tmp_path / "corpus.csv").write_text(
        "path,label,speaker\nclips/a.wav,calm,s1\nclips/b.wav,angry,s2\nclips/c.wav,calm,s2\n"
    )
    corpus = load_corpus(tmp_path / "corpus.csv")
    assert corpus.labels == ("angry", "calm")
    assert corpus.manifest["path"].iloc[0] == str(tmp_path / "clips" / "a.wav")
    assert list(corpus.manifest["speaker"]) == ["s1", "s2", "s2"]
    assert set(corpus.manifest["gender"]) == {"unknown"}


def test_huggingface_dataset_saved_to_disk_is_loaded_through_the_real_loader(tmp_path):
    import datasets

    clips = [
        write_audio(tmp_path / f"src{i}.flac", tone(250.0 + i, 0.5, 24000), 24000) for i in range(3)
    ]
    dataset = datasets.Dataset.from_dict(
        {
            "file_id": [f"XX0_anger_{i}.wav" for i in range(3)],
            "audio": [{"bytes": p.read_bytes(), "path": None} for p in clips],
            "emotion": ["anger", "fear", "sadness"],
            "raw_text": ["a", "b", "c"],
            "speaker_id": [" XX0", " XX0", " YY0"],
            "gender": ["male", "male", "female"],
        }
    ).cast_column("audio", datasets.Audio(decode=False))
    dataset.save_to_disk(str(tmp_path / "hf"))
    corpus = load_corpus(tmp_path / "hf")
    assert list(corpus.manifest["emotion"]) == ["anger", "fear", "sadness"]
    assert list(corpus.manifest["speaker"]) == ["XX0", "XX0", "YY0"]
    first = corpus.manifest["path"].iloc[0]
    assert first.endswith("XX0_anger_0.wav")
    assert soundfile.info(first).samplerate == 24000
    assert corpus.manifest["duration"].iloc[0] == pytest.approx(0.5)


def test_missing_directory_and_unknown_layout(tmp_path):
    with pytest.raises(KserDataError, match="not found"):
        load_corpus(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(KserDataError, match="not a corpus directory"):
        load_corpus(tmp_path / "empty")


def test_table_with_missing_columns_names_them(tmp_path):
    root = make_nemo_directory(tmp_path / "nemo", clips_per_emotion=1)
    (root / "data.tsv").write_text("file_id\temotion\nx.wav\tanger\n")
    with pytest.raises(KserDataError, match="missing column.*speaker_id") as error:
        load_corpus(root)
    assert "data.tsv" in str(error.value)
    (tmp_path / "bad.csv").write_text("file,label\nx.wav,anger\n")
    with pytest.raises(KserDataError, match="bad.csv: missing column.*path"):
        load_corpus(tmp_path / "bad.csv")


def _break_clips(root):
    """Damage four clips in four ways and give one row an unknown label; return their paths."""
    samples = root / "samples"
    (samples / "F1_anger_0.flac").unlink()
    (samples / "F1_fear_0.flac").write_bytes(b"")
    (samples / "F1_happiness_0.flac").write_bytes(b"not audio at all" * 20)
    write_audio(samples / "F1_neutral_0.flac", np.zeros(4000, np.float32))
    table = root / "data.tsv"
    table.write_text(
        table.read_text().replace("F2_sadness_0.wav\tsadness", "F2_sadness_0.wav\tbored")
    )
    return {
        "not found": "F1_anger_0",
        "empty": "F1_fear_0",
        "cannot decode": "F1_happiness_0",
        "silent": "F1_neutral_0",
        "unknown emotion label 'bored'": "F2_sadness_0",
    }


def test_every_bad_clip_raises_naming_the_file(tmp_path):
    root = make_nemo_directory(tmp_path / "nemo", clips_per_emotion=1)
    broken = _break_clips(root)
    for problem, stem in broken.items():
        if problem == "silent":
            continue  # silence shows only on decode, checked by the --skip-bad test below
        with pytest.raises(KserDataError, match=problem) as error:
            load_corpus(root)
        assert stem in str(error.value)
        _repair(root, stem, problem)


def _repair(root, stem, problem):
    if problem.startswith("unknown"):
        table = root / "data.tsv"
        table.write_text(table.read_text().replace("\tbored", "\tsadness"))
    else:
        write_audio(root / "samples" / f"{stem}.flac", tone(300.0, 0.3))


def test_skip_bad_drops_each_bad_clip_and_reports_why(tmp_path, capsys):
    root = make_nemo_directory(tmp_path / "nemo", clips_per_emotion=1)
    broken = _break_clips(root)
    corpus = load_corpus(root, skip_bad=True)
    assert len(corpus) == 7 * 6 - len(broken)
    skipped = dict(
        (path.rsplit("/", 1)[1].split(".")[0], reason) for path, reason in corpus.skipped
    )
    assert set(skipped) == set(broken.values())
    for problem, stem in broken.items():
        assert problem in skipped[stem]
    printed = capsys.readouterr().out
    assert "skipped 5 bad clip(s)" in printed and "F1_happiness_0" in printed


def test_kser_info_prints_tables(synthetic_nemo, capsys):
    assert main(["info", "--data", str(synthetic_nemo)]) == 0
    printed = capsys.readouterr().out
    assert "clips per emotion" in printed and "clips per speaker" in printed
    assert "F1" in printed and "female" in printed and "duration (s): min 0.30" in printed


def test_cli_reports_data_errors_without_a_traceback(tmp_path, capsys):
    assert main(["info", "--data", str(tmp_path / "nowhere")]) == 2
    assert "error" in capsys.readouterr().err


@pytest.mark.real
def test_real_nemo_copy_loads(nemo_dir):
    corpus = load_corpus(nemo_dir)
    assert len(corpus) == 3402
    assert corpus.manifest["speaker"].nunique() == 7
    assert set(corpus.manifest["emotion"]) == set(EMOTIONS)
    assert corpus.manifest["duration"].between(0.8, 6.0).all()
