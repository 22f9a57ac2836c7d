"""Reconnect delays: capped exponential with jitter.

Jitter keeps many cameras that dropped together (a switch reboot) from reconnecting in
lockstep; the cap keeps a camera that comes back from waiting long to be seen again.
"""

from __future__ import annotations

import random


class Backoff:
    """``initial`` seconds doubling up to ``cap``, each cut by up to ``jitter`` (a fraction)."""

    def __init__(
        self,
        initial: float = 0.5,
        cap: float = 5.0,
        *,
        factor: float = 2.0,
        jitter: float = 0.2,
        rng: random.Random | None = None,
    ) -> None:
        if not 0 < initial <= cap:
            raise ValueError(f"backoff needs 0 < initial <= cap, got {initial} and {cap}")
        if factor < 1 or not 0 <= jitter < 1:
            raise ValueError(
                f"backoff needs factor >= 1 and 0 <= jitter < 1, got {factor}, {jitter}"
            )
        self.initial = initial
        self.cap = cap
        self.factor = factor
        self.jitter = jitter
        self._rng = rng or random.Random()
        self.attempts = 0

    def next_delay(self) -> float:
        """Seconds to wait before the next attempt; never more than ``cap``."""
        base = min(self.cap, self.initial * self.factor**self.attempts)
        if base < self.cap:
            self.attempts += 1
        return base * (1.0 - self._rng.uniform(0.0, self.jitter))

    def reset(self) -> None:
        """Call after a successful connection: the next failure starts from ``initial`` again."""
        self.attempts = 0
