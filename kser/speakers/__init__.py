"""A speaker's clips, numpy only: normalization statistics that grow with the audio
seen, speaker adaptation, and profiles that accumulate clip by clip.

Nothing here imports TensorFlow or Keras, so `kser.runtime` uses it as it is.
"""
