"""Maintenance and data scripts; each one's docstring gives its command."""
