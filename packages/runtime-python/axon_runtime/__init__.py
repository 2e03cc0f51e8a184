"""Axon's Python worker runtime: loads a user's PythonPredictor and serves the replica front's
framed protocol over a Unix socket. Stdlib only. Entry point: ``python -m axon_runtime.worker``."""
