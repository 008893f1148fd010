"""Test keys for the encrypted patient identifiers: the session worker encrypts with SESSION_PHI_KEY, and tests that
draft letters give their in-process API the same key (or none, or another one, to prove what a key changes)."""

from __future__ import annotations

SESSION_PHI_KEY = "FztxzIw3qzyiyCSKuKCJYt7ywczCguxLaHXzM_z6yqs="
OTHER_PHI_KEY = "R_6lHfuLbOFGbZT4HikP73ETGsKnfUYUVkF6Tn5BPzQ="
