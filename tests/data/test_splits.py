import numpy as np
import pytest

from kser.data import load_corpus, make_splits, write_split
from tests.helpers import SYNTHETIC_SPEAKERS, make_nemo_directory


@pytest.fixture
def corpus(tmp_path):
    # 7 speakers x 6 emotions x 5 clips, and one speaker without "surprised" (like nEMO's MK0).
    root = make_nemo_directory(tmp_path / "nemo", clips_per_emotion=5, seconds=0.1)
    table = root / "data.tsv"
    lines = [line for line in table.read_text().splitlines() if not line.startswith("F3_surprised")]
    table.write_text("\n".join(lines) + "\n")
    return load_corpus(root, verbose=False)


def speakers_of(corpus, indices):
    return set(corpus.manifest["speaker"].iloc[indices])


def assert_partition(split, total):
    combined = np.concatenate([split.train, split.val, split.test])
    assert len(combined) == len(np.unique(combined)) == total


def test_seed_protocol_is_stratified_64_16_20_and_reproducible(corpus):
    split = make_splits(corpus, "seed")[0]
    assert_partition(split, len(corpus))
    assert len(split.test) == pytest.approx(0.2 * len(corpus), abs=1)
    assert len(split.val) == pytest.approx(0.16 * len(corpus), abs=2)
    overall = np.bincount(corpus.label_indices) / len(corpus)
    for part in (split.train, split.test):
        share = np.bincount(corpus.label_indices[part], minlength=6) / len(part)
        np.testing.assert_allclose(share, overall, atol=0.03)
    again = make_splits(corpus, "seed", seed=42)[0]
    np.testing.assert_array_equal(split.test, again.test)
    other = make_splits(corpus, "seed", seed=7)[0]
    assert not np.array_equal(split.test, other.test)


def test_speaker_protocol_holds_out_whole_speakers_balanced_by_gender(corpus):
    split = make_splits(corpus, "speaker")[0]
    assert_partition(split, len(corpus))
    train, val, test = (speakers_of(corpus, p) for p in (split.train, split.val, split.test))
    assert not (train & test) and not (train & val) and not (val & test)
    assert len(test) == 2 and len(val) == 1
    assert {SYNTHETIC_SPEAKERS[s] for s in test} == {"female", "male"}
    assert split.test.tolist() == make_splits(corpus, "speaker")[0].test.tolist()
    held_out = {
        frozenset(speakers_of(corpus, make_splits(corpus, "speaker", seed=s)[0].test))
        for s in range(6)
    }
    assert len(held_out) > 1  # the seed chooses which speakers


def test_loso_has_one_fold_per_speaker_with_an_unseen_validation_speaker(corpus):
    folds = make_splits(corpus, "loso")
    assert [f.name for f in folds] == [f"loso-{s}" for s in sorted(SYNTHETIC_SPEAKERS)]
    for fold in folds:
        assert_partition(fold, len(corpus))
        test, val = speakers_of(corpus, fold.test), speakers_of(corpus, fold.val)
        assert len(test) == 1 and len(val) == 1 and test != val
        assert not (speakers_of(corpus, fold.train) & (test | val))


def test_grouped_kfold_never_shares_a_speaker_between_train_and_test(corpus):
    folds = make_splits(corpus, "kfold", n_folds=5)
    assert len(folds) == 5
    tested = np.concatenate([f.test for f in folds])
    assert sorted(tested) == list(range(len(corpus)))  # every clip tested exactly once
    for fold in folds:
        assert not (speakers_of(corpus, fold.train) & speakers_of(corpus, fold.test))
        assert not (speakers_of(corpus, fold.val) & speakers_of(corpus, fold.test))


def test_ungrouped_kfold_is_stratified(corpus):
    folds = make_splits(corpus, "kfold", grouped=False)
    for fold in folds:
        counts = np.bincount(corpus.label_indices[fold.test], minlength=6)
        assert counts.max() - counts.min() <= 3


def test_unknown_protocol_is_rejected(corpus):
    with pytest.raises(ValueError, match="protocol=.*'random'"):
        make_splits(corpus, "random")


def test_split_file_lists_are_written(corpus, tmp_path):
    import json

    split = make_splits(corpus, "speaker")[0]
    write_split(split, corpus, tmp_path)
    saved = json.loads((tmp_path / "split.json").read_text())
    assert saved["protocol"] == "speaker" and saved["seed"] == 42
    assert len(saved["test"]) == len(split.test)
    assert {row["speaker"] for row in saved["test"]} == set(saved["test_speakers"])
    assert saved["train"][0]["path"] == corpus.manifest["path"].iloc[split.train[0]]
