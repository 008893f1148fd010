"""Entry points: the `denials` CLI, the worker, the HTTP API."""
