"""Emotion label names of nEMO, in the order kser uses for class indices."""

EMOTIONS = ("anger", "fear", "happiness", "neutral", "sadness", "surprised")
