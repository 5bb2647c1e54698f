"""kser."""
