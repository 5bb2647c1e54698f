"""The feature cache: keys, resume after interruption, damaged shards, ls/clear."""

from __future__ import annotations

import numpy as np
import pytest

import kser.features
from kser import cli
from kser.errors import KserFeatureError
from kser.features import base, cache
from kser.features.pipeline import extract_features
from tests.features.clips import CLIP_SECONDS, rewrite_clip, write_manifest

N_CLIPS = 6
SHARD_SIZE = 2


@pytest.fixture
def manifest(tmp_path):
    return write_manifest(tmp_path / "audio", n_clips=N_CLIPS)


@pytest.fixture
def shard_writes(monkeypatch):
    """Numbers of the shards published by each extraction, in order."""
    published = []
    finish = cache.ShardWriter.finish

    def counting_finish(writer):
        finish(writer)
        published.append(writer.number)

    monkeypatch.setattr(cache.ShardWriter, "finish", counting_finish)
    return published


def extract(manifest, root, extractor=None, **kwargs):
    kwargs.setdefault("clip_seconds", CLIP_SECONDS)
    return extract_features(
        manifest,
        extractor or kser.features.get("mel", n_mels=8),
        cache_root=root,
        shard_size=SHARD_SIZE,
        batch_size=2,
        progress=False,
        **kwargs,
    )


def test_second_extraction_is_a_hit_that_writes_nothing(manifest, tmp_path, shard_writes):
    first = extract(manifest, tmp_path / "cache")
    assert shard_writes == [0, 1, 2]
    relabelled = manifest.assign(emotion="anger", speaker="someone else")
    second = extract(relabelled, tmp_path / "cache")
    assert shard_writes == [0, 1, 2]
    assert second.key == first.key and second.directory == first.directory
    np.testing.assert_array_equal(second.as_numpy(), first.as_numpy())


def _change_sample_rate(manifest, tmp_path):
    return manifest, {"extractor": kser.features.get("mel", n_mels=8, sample_rate=8000)}


def _change_parameter(manifest, tmp_path):
    return manifest, {"extractor": kser.features.get("mel", n_mels=9)}


def _change_feature(manifest, tmp_path):
    return manifest, {"extractor": kser.features.get("mfcc")}


def _change_clip_length(manifest, tmp_path):
    return manifest, {"clip_seconds": 0.4}


def _change_audio_file(manifest, tmp_path):
    rewrite_clip(manifest["path"][3], amplitude=0.1)
    return manifest, {}


def _change_file_list(manifest, tmp_path):
    return manifest.iloc[::-1].reset_index(drop=True), {}


@pytest.mark.parametrize(
    "change",
    [
        _change_sample_rate,
        _change_parameter,
        _change_feature,
        _change_clip_length,
        _change_audio_file,
        _change_file_list,
    ],
)
def test_changing_any_keyed_input_is_a_miss(manifest, tmp_path, change):
    before = extract(manifest, tmp_path / "cache")
    changed_manifest, arguments = change(manifest, tmp_path)
    after = extract(changed_manifest, tmp_path / "cache", **arguments)
    assert after.key != before.key
    assert after.directory != before.directory
    assert (after.directory / "COMPLETE").is_file()


def test_a_new_feature_code_version_is_a_miss(manifest, tmp_path, monkeypatch):
    before = extract(manifest, tmp_path / "cache")
    # The cache reads the version from kser.features.base when it computes a key.
    monkeypatch.setattr(base, "FEATURE_CODE_VERSION", "changed")
    assert extract(manifest, tmp_path / "cache").key != before.key


def test_interrupted_extraction_resumes_after_its_finished_shards(
    manifest, tmp_path, monkeypatch, shard_writes
):
    reference = extract(manifest, tmp_path / "reference").as_numpy()
    shard_writes.clear()
    add = cache.ShardWriter.add

    def add_then_interrupt(writer, index, feature):
        add(writer, index, feature)
        if index == 3:  # halfway through shard 1
            raise KeyboardInterrupt

    monkeypatch.setattr(cache.ShardWriter, "add", add_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        extract(manifest, tmp_path / "cache")
    assert shard_writes == [0]
    (directory,) = (tmp_path / "cache" / "features").iterdir()
    assert not (directory / "COMPLETE").exists()
    assert not cache.shard_path(directory, 1).exists()

    monkeypatch.setattr(cache.ShardWriter, "add", add)
    resumed = extract(manifest, tmp_path / "cache")
    assert shard_writes == [0, 1, 2]
    np.testing.assert_array_equal(resumed.as_numpy(), reference)


def test_leftover_temporary_shard_is_removed_on_resume(manifest, tmp_path):
    feature_set = extract(manifest, tmp_path / "cache")
    leftover = feature_set.directory / ".shard-00001.tfrecord.99999.tmp"
    leftover.write_bytes(b"half a shard")
    extract(manifest, tmp_path / "cache")
    assert not leftover.exists()


@pytest.mark.parametrize("damage", ["truncate", "flip_byte"])
def test_a_damaged_shard_is_detected_and_rebuilt(manifest, tmp_path, capsys, shard_writes, damage):
    original = extract(manifest, tmp_path / "cache")
    expected = original.as_numpy().copy()
    shard = cache.shard_path(original.directory, 1)
    data = bytearray(shard.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    else:
        data[len(data) // 2] ^= 0xFF
    shard.write_bytes(bytes(data))
    capsys.readouterr()

    rebuilt = extract(manifest, tmp_path / "cache")
    warning = capsys.readouterr().err
    assert "shard-00001.tfrecord" in warning and "rebuilding" in warning
    assert shard_writes == [0, 1, 2, 1]
    np.testing.assert_array_equal(rebuilt.as_numpy(), expected)


def test_reading_a_shard_changed_after_extraction_raises(manifest, tmp_path):
    feature_set = extract(manifest, tmp_path / "cache")
    shard = cache.shard_path(feature_set.directory, 2)
    shard.write_bytes(shard.read_bytes()[:-10])
    with pytest.raises(KserFeatureError, match="shard-00002.tfrecord"):
        feature_set.as_numpy()


def test_list_and_clear_cache_by_feature(manifest, tmp_path):
    root = tmp_path / "cache"
    extract(manifest, root)
    extract(manifest, root, extractor=kser.features.get("mfcc"))
    entries = {entry["feature"]: entry for entry in cache.list_cache(root)}
    assert set(entries) == {"mel", "mfcc"}
    assert entries["mel"]["clips"] == N_CLIPS and entries["mel"]["complete"]
    assert entries["mel"]["bytes"] > N_CLIPS * 8 * 4
    assert cache.clear_cache(root, feature="mel") == 1
    assert [entry["feature"] for entry in cache.list_cache(root)] == ["mfcc"]
    assert cache.clear_cache(root) == 1
    assert cache.list_cache(root) == []


def test_cache_command_lists_and_clears(manifest, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KSER_CACHE", str(tmp_path / "cache"))
    feature_set = extract(manifest, None)
    assert cli.main(["cache", "ls"]) == 0
    listing = capsys.readouterr().out
    assert feature_set.key[:16] in listing and "mel" in listing and str(N_CLIPS) in listing
    assert cli.main(["cache", "clear", "--feature", "mfcc"]) == 0
    assert feature_set.directory.exists()
    assert cli.main(["cache", "clear", "--feature", "mel"]) == 0
    assert not feature_set.directory.exists()
