"""Offline evaluation: metrics, protocols (msr, loo, temporal), the harness and reports. See docs/evaluation.md."""
