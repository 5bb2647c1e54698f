"""Speaker-grouped member folds."""

import numpy as np
import pytest

from kser.ensemble import member_folds
from kser.errors import KserDataError
from tests.ensemble.synthetic import manifest_corpus


def speakers_of(corpus, rows):
    return set(corpus.manifest["speaker"].to_numpy()[rows])


def test_each_development_speaker_is_held_out_by_exactly_one_fold():
    corpus = manifest_corpus(n_speakers=7)
    speakers = corpus.manifest["speaker"].to_numpy()
    development = np.flatnonzero(~np.isin(speakers, ["S0", "S1"]))  # S0, S1: the test speakers
    folds = member_folds(corpus, development, n_folds=5, seed=3)

    assert len(folds) == 5
    held_out = np.concatenate([fold.holdout for fold in folds])
    np.testing.assert_array_equal(np.sort(held_out), development)
    for fold in folds:
        assert len(speakers_of(corpus, fold.holdout)) == 1  # 5 speakers, 5 folds
        assert len(speakers_of(corpus, fold.val)) == 1
        parts = [speakers_of(corpus, p) for p in (fold.train, fold.val, fold.holdout)]
        assert not (parts[0] & parts[1]) and not (parts[0] & parts[2]) and not (parts[1] & parts[2])
        assert speakers_of(corpus, fold.trained_on) | parts[2] == set(speakers[development])
        assert not speakers_of(corpus, fold.trained_on) & {"S0", "S1"}


def test_folds_are_deterministic_given_the_seed():
    corpus = manifest_corpus(n_speakers=7)
    development = np.arange(len(corpus))

    def holdouts(seed):
        folds = member_folds(corpus, development, seed=seed)
        return [tuple(f.holdout) + tuple(f.val) for f in folds]

    assert holdouts(1) == holdouts(1)
    assert holdouts(1) != holdouts(2)


def test_too_few_speakers_for_the_folds_is_an_error():
    corpus = manifest_corpus(n_speakers=3)
    with pytest.raises(KserDataError, match="n_folds=5 over 3 development speakers"):
        member_folds(corpus, np.arange(len(corpus)), n_folds=5)
    # 3 speakers, 3 folds: holding one out leaves one for training and one for validation.
    assert len(member_folds(corpus, np.arange(len(corpus)), n_folds=3)) == 3
