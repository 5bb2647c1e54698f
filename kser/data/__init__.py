"""Corpora, waveforms and split protocols."""

from kser.data.audio import (
    CLIP_SECONDS,
    SAMPLE_RATE,
    clip_samples,
    fix_length,
    load_clip,
    load_waveform,
)
from kser.data.labels import EMOTIONS
from kser.data.manifest import Corpus, describe_corpus
from kser.data.sources import load_corpus, load_csv, load_huggingface, load_nemo_directory
from kser.data.splits import PROTOCOLS, Split, make_splits, write_split

__all__ = [
    "CLIP_SECONDS",
    "EMOTIONS",
    "PROTOCOLS",
    "SAMPLE_RATE",
    "Corpus",
    "Split",
    "clip_samples",
    "describe_corpus",
    "fix_length",
    "load_clip",
    "load_corpus",
    "load_csv",
    "load_huggingface",
    "load_nemo_directory",
    "load_waveform",
    "make_splits",
    "write_split",
]
