"""`kser train`, `kser evaluate` and `kser predict`, end to end through `kser.cli.main`."""

from __future__ import annotations

import json

import pytest

from kser.cli import main
from kser.training.speaker_settings import GROWTH_CLIPS, PRIOR_CLIPS
from tests.helpers import make_nemo_directory, tone, write_audio
from tests.training.helpers import TINY_CNN


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """`kser train` on the synthetic corpus: `(corpus directory, run directory)`."""
    root = tmp_path_factory.mktemp("cli")
    data = make_nemo_directory(root / "nemo")
    out = root / "run"
    code = main(
        ["train", "--data", str(data), "--model", "cnn3", "--epochs", "1", "--batch-size", "8",
         "--no-mlflow", "--feature", "mel", "--feature-param", "n_mels=16",
         "--model-param", f"width={TINY_CNN['width']}", "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    return data, out


def test_train_writes_a_bundle_with_the_requested_parameters(trained):
    _, out = trained
    description = json.loads((out / "bundle" / "bundle.json").read_text())
    assert description["features"]["features"]["name"] == "mel"
    assert description["features"]["features"]["params"]["n_mels"] == 16
    assert description["model"] == {"name": "cnn3", "params": TINY_CNN}
    assert description["protocol"] == "speaker"
    adaptation = description["speaker_adaptation"]
    assert adaptation["temperature"] > 0  # fitted on the validation clips
    # The growth with a speaker's clips and the prior's weight are chosen on them too.
    settings = json.loads((out / "speaker_settings.json").read_text())
    assert adaptation["growth_clips"] == settings["growth_clips"] in GROWTH_CLIPS
    normalizer = json.loads((out / "bundle" / "normalizer.features.json").read_text())
    assert normalizer["prior"]["clips"] == settings["prior_clips"] in PRIOR_CLIPS
    assert {**adaptation, "temperature": 1.0, "growth_clips": 0.0} == {
        "neighbours": 10,
        "strength": 0.8,
        "graph": "embedding",
        "temperature": 1.0,
        "growth_clips": 0.0,
    }


def test_evaluate_prints_the_report_and_writes_json(trained, tmp_path, capsys):
    data, out = trained
    assert main(["evaluate", str(out), "--data", str(data), "--part", "all",
                 "--json", str(tmp_path / "m.json")]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "UAR" in printed and "anger" in printed
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert 0.0 <= metrics["uar"] <= 1.0 and 0.0 <= metrics["macro_f1"] <= 1.0
    assert metrics["labels"][0] == "anger" and metrics["n"] == 84
    assert sum(map(sum, metrics["confusion_matrix"])) == 84
    assert 0.0 <= metrics["accuracy"] <= 1.0


def test_evaluate_can_score_only_the_test_part_of_the_bundles_split(trained, tmp_path):
    data, out = trained
    assert main(["evaluate", str(out), "--data", str(data), "--part", "test",
                 "--json", str(tmp_path / "m.json")]) == 0  # fmt: skip
    metrics = json.loads((tmp_path / "m.json").read_text())
    trained_metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n"] == trained_metrics["n"] == 24
    assert metrics["uar"] == pytest.approx(trained_metrics["uar"])


def test_predict_prints_one_row_per_file_and_windows_on_request(trained, tmp_path, capsys):
    _, out = trained
    short = write_audio(tmp_path / "short.wav", tone(300, 0.4, 8000), 8000)
    long = write_audio(tmp_path / "long.flac", tone(300, 7.0), 16000)
    assert main(["predict", str(out), str(short), str(long), "--per-window",
                 "--json", str(tmp_path / "p.json")]) == 0  # fmt: skip
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:6] == ["anger", "fear", "happiness", "neutral", "sadness", "surprised"]
    assert sum(line.endswith("short.wav") for line in lines) == 1
    predictions = json.loads((tmp_path / "p.json").read_text())
    # 7 s in 3 s windows 1.5 s apart: starts 0, 1.5, 3 and 4 (the tail).
    assert [w["start"] for w in predictions[1]["windows"]] == [0.0, 1.5, 3.0, 4.0]
    assert sum(predictions[0]["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    # The windows of both files form one speaker's group, smoothed unless told not to.
    assert main(["predict", str(out), str(short), str(long), "--no-speaker-adaptation",
                 "--json", str(tmp_path / "plain.json")]) == 0  # fmt: skip
    plain = json.loads((tmp_path / "plain.json").read_text())
    assert plain[0]["probabilities"] != pytest.approx(predictions[0]["probabilities"], abs=1e-6)


def test_bad_input_gets_a_clear_error_naming_the_path(trained, tmp_path, capsys):
    _, out = trained
    assert main(["predict", str(tmp_path / "no-bundle"), "x.wav"]) == 2
    assert "no-bundle: bundle not found" in capsys.readouterr().err
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"\x00" * 64)
    assert main(["predict", str(out), str(broken)]) == 2
    assert f"{broken}: cannot decode audio" in capsys.readouterr().err
    incomplete = tmp_path / "incomplete"
    incomplete.mkdir()
    (incomplete / "bundle.json").write_text(json.dumps({"format": "kser-bundle/1"}))
    assert main(["evaluate", str(incomplete)]) == 2
    assert "incomplete bundle description" in capsys.readouterr().err


def test_evaluate_refuses_a_corpus_with_emotions_the_bundle_does_not_know(
    trained, tmp_path, capsys
):
    _, out = trained
    write_audio(tmp_path / "a.wav", tone(300, 0.5), 16000)
    (tmp_path / "other.csv").write_text("path,label,speaker\na.wav,boredom,S1\n")
    assert main(["evaluate", str(out), "--data", str(tmp_path / "other.csv")]) == 2
    assert "boredom" in capsys.readouterr().err


def test_train_options_reach_the_experiment_config():
    from kser.cli import _experiment_config, build_parser

    args = build_parser().parse_args(["train", "--mixup", "0.3", "--refit", "--epochs", "7"])
    config = _experiment_config(args)
    assert (config.mixup, config.refit, config.epochs) == (0.3, True, 7)
    assert _experiment_config(build_parser().parse_args(["train"])).mixup == 0.0


def test_a_bad_train_option_is_a_clear_error(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--mixup", "-1", "--no-mlflow", "--out", str(out)]) == 2
    assert "mixup must be 0 or positive" in capsys.readouterr().err
    assert not out.exists()


def test_evaluate_scores_only_unseen_clips_of_the_bundles_own_corpus(trained, tmp_path, capsys):
    data, out = trained
    assert main(["evaluate", str(out), "--data", str(data),
                 "--json", str(tmp_path / "m.json")]) == 0  # fmt: skip
    assert "scoring the 24 of 84 clips the bundle never trained or validated on" in (
        capsys.readouterr().out
    )
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["n"] == 24
    assert metrics["uar"] == pytest.approx(json.loads((out / "metrics.json").read_text())["uar"])


def test_evaluate_scores_groups_of_n_clips_per_speaker(trained, tmp_path, capsys):
    data, out = trained

    def scored(*options):
        path = tmp_path / "m.json"
        assert main(["evaluate", str(out), "--data", str(data), "--part", "test",
                     "--json", str(path), *options]) == 0  # fmt: skip
        return json.loads(path.read_text())

    alone = scored("--clips-per-speaker", "1")
    assert "each speaker's clips in random groups of 1" in capsys.readouterr().out
    assert alone["n"] == 24
    assert scored("--clips-per-speaker", "1") == alone  # no adaptation, no shared statistics
    groups = scored("--clips-per-speaker", "5", "--seed", "3")
    assert groups == scored("--clips-per-speaker", "5", "--seed", "3")  # seeded
    assert scored("--clips-per-speaker", "all")["uar"] == pytest.approx(
        json.loads((out / "metrics.json").read_text())["uar"]
    )
    with pytest.raises(SystemExit):  # argparse's usage error, exit 2
        main(["evaluate", str(out), "--data", str(data), "--clips-per-speaker", "0"])
    assert "takes a positive integer or 'all'" in capsys.readouterr().err


def test_a_speaker_profile_gives_what_scoring_all_clips_together_gives(trained, tmp_path):
    _, out = trained
    clips = [write_audio(tmp_path / f"c{i}.wav", tone(250 + 40 * i, 0.5), 16000) for i in range(5)]
    profile = tmp_path / "speaker.json"
    assert main(["predict", str(out), *map(str, clips[:3]), "--speaker-profile", str(profile),
                 "--json", str(tmp_path / "first.json")]) == 0  # fmt: skip
    record = json.loads(profile.read_text())
    assert len(record["clips"]) == 3 and record["statistics"][""]["clips"] == 3
    assert main(["predict", str(out), *map(str, clips[3:]), "--speaker-profile", str(profile),
                 "--json", str(tmp_path / "then.json")]) == 0  # fmt: skip
    assert len(json.loads(profile.read_text())["clips"]) == 5
    assert main(["predict", str(out), *map(str, clips),
                 "--json", str(tmp_path / "together.json")]) == 0  # fmt: skip
    together = json.loads((tmp_path / "together.json").read_text())
    then = json.loads((tmp_path / "then.json").read_text())
    for got, expected in zip(then, together[3:], strict=True):
        assert got["probabilities"] == pytest.approx(expected["probabilities"], abs=1e-6)
    # The first three were scored with only each other: not what all five give them.
    first = json.loads((tmp_path / "first.json").read_text())
    assert first[0]["probabilities"] != pytest.approx(together[0]["probabilities"], abs=1e-6)


def test_a_csv_names_the_speaker_of_each_file(trained, tmp_path):
    _, out = trained
    for i in range(4):
        write_audio(tmp_path / f"c{i}.wav", tone(250 + 40 * i, 0.5), 16000)
    listing = tmp_path / "files.csv"
    listing.write_text("path,who\nc0.wav,A\nc1.wav,A\nc2.wav,B\nc3.wav,B\n")
    assert main(["predict", str(out), str(listing), "--speaker-column", "who",
                 "--json", str(tmp_path / "csv.json")]) == 0  # fmt: skip
    by_csv = json.loads((tmp_path / "csv.json").read_text())
    for pair in ((0, 1), (2, 3)):
        files = [str(tmp_path / f"c{i}.wav") for i in pair]
        assert main(["predict", str(out), *files, "--json", str(tmp_path / "p.json")]) == 0
        alone = json.loads((tmp_path / "p.json").read_text())
        for got, expected in zip([by_csv[i] for i in pair], alone, strict=True):
            assert got["probabilities"] == pytest.approx(expected["probabilities"], abs=1e-6)


def test_predict_options_that_disagree_or_name_no_column_are_clear_errors(
    trained, tmp_path, capsys
):
    _, out = trained
    write_audio(tmp_path / "c.wav", tone(300, 0.5), 16000)
    listing = tmp_path / "files.csv"
    listing.write_text("path,who\nc.wav,A\n")
    assert main(["predict", str(out), str(listing), "--speaker-column", "speaker"]) == 2
    assert "no column 'speaker'" in capsys.readouterr().err
    assert main(["predict", str(out), str(tmp_path / "c.wav"), "--speaker-column", "who"]) == 2
    assert "needs a CSV file" in capsys.readouterr().err
    assert main(["predict", str(out), str(tmp_path / "c.wav"), "--separate-speakers",
                 "--speaker-profile", str(tmp_path / "p.json")]) == 2  # fmt: skip
    assert "pass one of them" in capsys.readouterr().err
    bad_profile = tmp_path / "bad.json"
    bad_profile.write_text("{}")
    assert main(["predict", str(out), str(tmp_path / "c.wav"),
                 "--speaker-profile", str(bad_profile)]) == 2  # fmt: skip
    assert f"{bad_profile}: cannot read speaker profile" in capsys.readouterr().err


def test_predict_skip_bad_scores_the_good_files_and_names_the_bad(trained, tmp_path, capsys):
    _, out = trained
    good = write_audio(tmp_path / "good.wav", tone(300, 0.5), 16000)
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"\x00" * 64)
    assert main(["predict", str(out), str(good), str(broken), "--skip-bad",
                 "--json", str(tmp_path / "p.json")]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert f"{broken}: cannot decode audio" in printed
    assert "skipped 1 of 2 file(s)" in printed
    records = json.loads((tmp_path / "p.json").read_text())
    assert records[0]["path"] == str(good) and records[0]["emotion"]
    assert "cannot decode audio" in records[1]["error"]


def test_the_default_bundle_tells_emotions_apart_one_clip_at_a_time(tmp_path):
    """Each emotion of the synthetic corpus has its own pitch; a default bundle predicting
    single clips of unheard speakers (each its own speaker group) must follow it, not
    answer one constant emotion (per-speaker statistics of one clip would leave nothing)."""
    data = make_nemo_directory(tmp_path / "nemo", clips_per_emotion=3, seconds=1.0)
    out = tmp_path / "run"
    assert main(["train", "--data", str(data), "--no-mlflow", "--epochs", "30",
                 "--out", str(out)]) == 0  # fmt: skip
    split = json.loads((out / "split.json").read_text())
    clips = [clip["path"] for clip in split["test"]]
    assert main(["predict", str(out), *clips, "--separate-speakers",
                 "--json", str(tmp_path / "p.json")]) == 0  # fmt: skip
    predictions = json.loads((tmp_path / "p.json").read_text())
    assert len({prediction["emotion"] for prediction in predictions}) >= 4
    truth = [clip["emotion"] for clip in split["test"]]
    correct = sum(p["emotion"] == e for p, e in zip(predictions, truth, strict=True))
    assert correct / len(truth) > 0.5
