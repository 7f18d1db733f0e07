"""Calibration and evaluation: each script prints the figures a docs page quotes (which data,
which split) and that the severity anchors and profile thresholds were set from."""
