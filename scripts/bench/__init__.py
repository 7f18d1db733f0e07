"""Timings and scale checks (decode, checks, triage throughput, review page, resume)."""
