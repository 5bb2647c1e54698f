"""`compare_runs`, McNemar's test and `kser report`."""

import numpy as np
import pytest
from scipy import stats

from kser import cli
from kser.errors import KserEvaluationError
from kser.evaluation import compare, compare_runs, evaluate, mcnemar, write_report
from kser.evaluation import report as report_module
from tests.evaluation.helpers import probabilities_for

LABELS = ("anger", "fear", "joy", "neutral")
N_CLIPS = 40
Y_TRUE = np.arange(N_CLIPS) % 4
CLIP_IDS = np.array([f"clips/{i:02d}.flac" for i in range(N_CLIPS)])


@pytest.fixture(autouse=True)
def _no_figures(monkeypatch):
    """Comparison reads metrics.json and predictions.csv only; skip drawing figures."""
    for name in ("confusion_png", "per_class_png", "reliability_png"):
        monkeypatch.setattr(report_module.plots, name, lambda result: b"")


def _predictions(n_wrong, seed):
    rng = np.random.default_rng(seed)
    y_pred = Y_TRUE.copy()
    wrong = rng.choice(N_CLIPS, size=n_wrong, replace=False)
    y_pred[wrong] = (Y_TRUE[wrong] + rng.integers(1, 4, size=n_wrong)) % 4
    return y_pred


def _write_run(run_dir, y_pred, *, order=None, clip_ids=CLIP_IDS, y_true=Y_TRUE, **metadata):
    order = np.arange(N_CLIPS) if order is None else order
    result = evaluate(
        y_true[order],
        probabilities_for(y_pred[order], len(LABELS)),
        LABELS,
        clip_ids=None if clip_ids is None else clip_ids[order],
        n_bootstrap=100,
    )
    write_report(result, run_dir, title=run_dir.name, metadata=metadata)
    return result


@pytest.fixture
def three_runs(tmp_path):
    predictions = {
        "good": _predictions(6, 1),
        "mid": _predictions(13, 2),
        "bad": _predictions(22, 3),
    }
    shuffled = np.random.default_rng(0).permutation(N_CLIPS)
    results = {
        "bad": _write_run(tmp_path / "bad", predictions["bad"], protocol="seed", feature="zcr"),
        # Written in another clip order: pairing must go by clip id, not by row.
        "mid": _write_run(
            tmp_path / "mid", predictions["mid"], order=shuffled, protocol="speaker", feature="mfcc"
        ),
        "good": _write_run(
            tmp_path / "good", predictions["good"], protocol="speaker", feature="mel"
        ),
    }
    return tmp_path, predictions, results


def test_runs_are_ranked_by_uar(three_runs):
    root, _, results = three_runs
    comparison = compare_runs([root / "bad", root / "mid", root / "good"])
    ranked = sorted(results, key=lambda name: -results[name].uar)
    assert [row["run"] for row in comparison.rows] == [str(root / name) for name in ranked]
    assert [row["rank"] for row in comparison.rows] == [1, 2, 3]
    top = comparison.rows[0]
    assert top["uar"] == pytest.approx(results[ranked[0]].uar)
    assert top["uar_ci"] == pytest.approx(list(results[ranked[0]].uar_ci))
    assert top["n"] == N_CLIPS
    assert (top["protocol"], top["feature"], top["model"]) == ("speaker", "mel", "")


def test_mcnemar_between_the_top_two_pairs_clips_by_id(three_runs):
    root, predictions, _ = three_runs
    comparison = compare_runs([root / "bad", root / "mid", root / "good"])
    test = comparison.mcnemar
    assert (test.run_a, test.run_b) == (str(root / "good"), str(root / "mid"))
    assert test.n_shared == N_CLIPS
    good_right = predictions["good"] == Y_TRUE
    mid_right = predictions["mid"] == Y_TRUE
    assert test.only_a_correct == np.sum(good_right & ~mid_right)
    assert test.only_b_correct == np.sum(mid_right & ~good_right)
    discordant = test.only_a_correct + test.only_b_correct
    assert discordant < 25 and test.statistic is None
    expected = stats.binomtest(test.only_a_correct, discordant, 0.5).pvalue
    assert test.p_value == pytest.approx(expected, rel=1e-12)
    text = comparison.format_text()
    assert f"p = {test.p_value:.4g}" in text and "exact binomial" in text


@pytest.mark.parametrize("only_a, only_b", [(0, 0), (0, 1), (3, 9), (12, 12), (0, 24), (20, 4)])
def test_exact_mcnemar_matches_scipy(only_a, only_b):
    statistic, p_value, method = mcnemar(only_a, only_b)
    expected = 1.0 if only_a + only_b == 0 else stats.binomtest(only_a, only_a + only_b).pvalue
    assert statistic is None
    assert p_value == pytest.approx(expected, rel=1e-12)
    assert method == compare.EXACT_METHOD


@pytest.mark.parametrize("only_a, only_b", [(10, 15), (10, 20), (40, 7), (300, 260)])
def test_chi_square_mcnemar_matches_scipy(only_a, only_b):
    statistic, p_value, method = mcnemar(only_a, only_b)
    expected_statistic = (abs(only_a - only_b) - 1) ** 2 / (only_a + only_b)
    assert statistic == pytest.approx(expected_statistic, rel=1e-12)
    assert p_value == pytest.approx(stats.chi2.sf(expected_statistic, df=1), rel=1e-9)
    assert method == compare.CHI_SQUARE_METHOD


def test_chi_square_by_hand():
    statistic, p_value, _ = mcnemar(10, 20)
    assert statistic == pytest.approx(81 / 30)
    assert p_value == pytest.approx(0.100348, abs=1e-6)


def _two_run_note(root, first_kwargs, second_kwargs):
    _write_run(root / "a", _predictions(5, 1), **first_kwargs)
    _write_run(root / "b", _predictions(9, 2), **second_kwargs)
    comparison = compare_runs([root / "a", root / "b"])
    assert comparison.mcnemar is None
    assert comparison.mcnemar_note in comparison.format_text()
    return comparison.mcnemar_note


def test_runs_on_different_clips_are_not_paired(tmp_path):
    other_ids = np.array([f"other/{i}.flac" for i in range(N_CLIPS)])
    note = _two_run_note(tmp_path, {}, {"clip_ids": other_ids})
    assert "scored different clips (40 and 40, 0 shared)" in note


def test_runs_without_clip_ids_are_not_paired(tmp_path):
    assert "has no clip ids" in _two_run_note(tmp_path, {}, {"clip_ids": None})


def test_runs_disagreeing_on_true_labels_are_not_paired(tmp_path):
    relabelled = Y_TRUE.copy()
    relabelled[:3] = (relabelled[:3] + 1) % 4
    note = _two_run_note(tmp_path, {}, {"y_true": relabelled})
    assert "disagree on the true label of 3 clips" in note


def test_a_single_run_is_ranked_without_a_test(tmp_path):
    _write_run(tmp_path / "only", _predictions(5, 1))
    comparison = compare_runs([tmp_path / "only"])
    assert len(comparison.rows) == 1
    assert comparison.mcnemar is None and "at least two runs" in comparison.mcnemar_note


def test_a_directory_without_metrics_is_an_error(tmp_path):
    with pytest.raises(KserEvaluationError, match="metrics.json: not found"):
        compare_runs([tmp_path])
    (tmp_path / "metrics.json").write_text("{not json")
    with pytest.raises(KserEvaluationError, match="not valid JSON"):
        compare_runs([tmp_path])


def test_kser_report_command(three_runs, capsys):
    root, _, _ = three_runs
    assert cli.main(["report", str(root / "bad"), str(root / "good"), str(root / "mid")]) == 0
    output = capsys.readouterr().out
    lines = output.splitlines()
    assert lines[0] == "Runs ranked by UAR"
    assert lines[3].split()[:2] == ["1", str(root / "good")]
    assert "McNemar" in output and "40 shared clips" in output


def test_kser_report_command_reports_errors(tmp_path, capsys):
    assert cli.main(["report", str(tmp_path / "missing")]) == 2
    assert "kser report: error:" in capsys.readouterr().err
