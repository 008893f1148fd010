"""Use cases: one function per message kind, over a unit-of-work port. No drivers here (import contract)."""
