"""Builders of committed files: ``samples/`` and the text check's lexicon."""
