"""Which account sends to whom: each recipient sticks to one account for the whole sequence,
spread across the pool in proportion to each account's daily capacity, among the accounts
whose provider can reach that recipient."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence

from worker.accounts import ProviderName


class Assigner:
    """Deterministic: the same leads in the same order get the same accounts. Each provider's
    accounts sit in a heap keyed by the load an extra recipient would bring, so picking costs
    O(log n) whatever the pool's size."""

    def __init__(self, pool: Sequence[tuple[str, ProviderName, int]]):
        """`pool`: (account, provider, daily capacity), in the campaign file's order."""
        self.heaps: dict[ProviderName, list[tuple[float, int, str, int]]] = {}
        self.assigned: dict[str, int] = {}
        for order, (name, provider, capacity) in enumerate(pool):
            self.heaps.setdefault(provider, []).append((1 / capacity, order, name, capacity))
            self.assigned[name] = 0
        for heap in self.heaps.values():
            heapq.heapify(heap)

    @property
    def providers(self) -> list[ProviderName]:
        return list(self.heaps)

    def assign(self, accepts: Callable[[ProviderName], bool]) -> str | None:
        """The least loaded account among the providers that `accepts`; None if none does."""
        best: tuple[float, int, str, int] | None = None
        best_provider: ProviderName | None = None
        for provider, heap in self.heaps.items():
            if heap and (best is None or heap[0] < best) and accepts(provider):
                best, best_provider = heap[0], provider
        if best is None or best_provider is None:
            return None
        _, order, name, capacity = best
        self.assigned[name] += 1
        heapq.heapreplace(
            self.heaps[best_provider], ((self.assigned[name] + 1) / capacity, order, name, capacity)
        )
        return name
