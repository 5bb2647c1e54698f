"""`kser evaluate --channel` on a tiny trained bundle: other scores, the clean cache untouched."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kser.channels import Channel, corrupted_features
from kser.cli import main
from kser.data import load_corpus
from kser.features.cache import list_cache
from kser.training import load_bundle
from tests.helpers import make_nemo_directory
from tests.training.helpers import TINY_CNN


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """`(corpus directory, run directory)` of a 1-epoch CNN on 16-band mel, synthetic corpus."""
    root = tmp_path_factory.mktemp("channel")
    data = make_nemo_directory(root / "nemo", seconds=0.5)
    out = root / "run"
    assert main(
        ["train", "--data", str(data), "--model", "cnn3", "--epochs", "1", "--batch-size", "8",
         "--no-mlflow", "--feature", "mel", "--feature-param", "n_mels=16",
         "--model-param", f"width={TINY_CNN['width']}", "--out", str(out)]
    ) == 0  # fmt: skip
    return data, out


def evaluated(trained, tmp_path, *options):
    data, out = trained
    path = tmp_path / f"metrics{len(list(tmp_path.iterdir()))}.json"
    assert main(["evaluate", str(out), "--data", str(data), "--part", "test", "--json",
                 str(path), *options]) == 0  # fmt: skip
    return json.loads(path.read_text())


def test_a_channel_changes_the_scores_reproducibly_and_leaves_the_cache_alone(trained, tmp_path):
    clean = evaluated(trained, tmp_path)
    cached = list_cache()
    noisy = evaluated(trained, tmp_path, "--channel", "telephone+noise:0")
    again = evaluated(trained, tmp_path, "--channel", "telephone+noise:0")
    assert noisy["channel"] == "telephone+noise:0" and "channel" not in clean
    assert noisy["n"] == clean["n"] == 24
    assert (noisy["confusion_matrix"], noisy["ece"]) != (clean["confusion_matrix"], clean["ece"])
    assert (again["confusion_matrix"], again["ece"]) == (noisy["confusion_matrix"], noisy["ece"])
    assert list_cache() == cached  # corrupted features are neither written to nor read from it


def test_the_clean_channel_extracts_exactly_the_cached_features(trained):
    data, out = trained
    bundle = load_bundle(out)
    corpus = load_corpus(str(data))
    rows = np.arange(0, len(corpus), 7)
    direct = corrupted_features(bundle, corpus, rows, Channel(), progress=False)
    np.testing.assert_allclose(direct, bundle._corpus_features(corpus, rows), atol=1e-5)


def test_a_bad_channel_is_refused_before_anything_loads(trained, capsys):
    data, out = trained
    assert main(["evaluate", str(out), "--data", str(data), "--channel", "noise:loud"]) == 2
    error = capsys.readouterr().err
    assert "kser evaluate: error: channel 'noise:loud'" in error and "SNR in dB" in error


def test_the_robustness_report_tabulates_each_channel_and_reuses_corrupted_features(
    trained, tmp_path
):
    from experiments import channel_robustness

    data, out = trained
    argv = ["--data", str(data), "--runs", f"{out.parent}=tiny", "--conditions",
            "clean,noise:0", "--out", str(tmp_path / "report"), "--no-mlflow"]  # fmt: skip
    assert channel_robustness.main(argv) == 0
    table = json.loads((tmp_path / "report" / "channel_robustness.json").read_text())
    rows = {(row["clips known"], row["channel"]): row for row in table["rows"]}
    assert set(rows) == {(g, c) for g in ("all", "1") for c in ("clean", "noise:0")}
    assert rows["all", "clean"]["ratio to clean"] == "1.00"
    clean_uar = table["fold_uars"]["tiny"]["all"]["clean"]["run"]
    assert clean_uar == pytest.approx(json.loads((out / "metrics.json").read_text())["uar"])
    stored = list((tmp_path / "report" / "channel-features").glob("*.npz"))
    assert len(stored) == 1
    assert (tmp_path / "report" / "channel_robustness.png").stat().st_size > 1000
    # A rerun reads the stored corrupted features and gives the same numbers.
    assert channel_robustness.main(argv) == 0
    rerun = json.loads((tmp_path / "report" / "channel_robustness.json").read_text())
    assert rerun["fold_uars"] == table["fold_uars"]
