"""kser: speech emotion recognition with Keras 3.

Names are imported on first use (`kser.SpeakerProfile` loads numpy only)."""

from kser.lazy import lazy_attributes

# name -> the submodule that defines it.
_EXPORTS = {
    "SpeakerProfile": "speakers.profile",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_attributes(__name__, _EXPORTS)
