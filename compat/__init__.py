"""Compatibility proofs: framework test suites run with autolog on (see run_sklearn.py)."""
