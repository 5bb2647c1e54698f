"""Seeded random groups of each speaker's clips (`kser evaluate --clips-per-speaker`)."""

from __future__ import annotations

import numpy as np
import pytest

from kser.errors import KserEvaluationError
from kser.speakers.groups import speaker_groups


def test_groups_have_the_size_asked_never_mix_speakers_and_are_seeded():
    speakers = np.array(["A"] * 11 + ["B"] * 4)
    groups = speaker_groups(speakers, 5, seed=1)
    sizes = {group: int((groups == group).sum()) for group in set(groups)}
    assert sorted(sizes.values()) == [1, 4, 5, 5]
    for group in set(groups):
        assert len(set(speakers[groups == group])) == 1
    np.testing.assert_array_equal(groups, speaker_groups(speakers, 5, seed=1))
    assert not np.array_equal(groups, speaker_groups(speakers, 5, seed=2))


def test_one_clip_per_group_and_all_clips():
    speakers = np.array(["A", "A", "B"])
    assert len(set(speaker_groups(speakers, 1))) == 3
    np.testing.assert_array_equal(speaker_groups(speakers, None), speakers)


@pytest.mark.parametrize("size", [0, -2, 1.5, True])
def test_bad_sizes_are_refused(size):
    with pytest.raises(KserEvaluationError, match="positive integer"):
        speaker_groups(["A"], size)
