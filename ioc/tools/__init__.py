"""Tooling beside the service: demo, benchmarks, local servers; the service never imports it."""
