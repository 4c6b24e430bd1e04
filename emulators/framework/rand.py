"""Cheap deterministic randomness for generated vendor data (the same seed, the same data)."""

from __future__ import annotations

MASK64 = (1 << 64) - 1


def mix(*values: int) -> int:
    """A 64-bit hash of integers (splitmix64 steps): cheap, deterministic randomness."""
    z = 0x9E3779B97F4A7C15
    for value in values:
        z = (z + value * 0xBF58476D1CE4E5B9 + 0x94D049BB133111EB) & MASK64
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        z ^= z >> 31
    return z
