"""How far a hidden ward's count can move, given the ward and decile tables as shown.

A reader who knows which deprivation deciles each ward's LSOAs have (public
geography) can combine the shared ward table with the shared decile table. Every
ward × decile table the reader cannot rule out is a whole-number flow
``source → ward → decile → sink`` of the participants' total, each ward's and
each decile's flow within the span the report leaves it (its count when shown,
its band when hidden), over the ward × decile pairs the geography allows. The
counts a ward can hold across all such tables are a run of whole numbers, and
:func:`ward_ranges` finds its ends.

**Method.** One feasible flow is found by the usual reduction of lower bounds to
a maximum flow (Ahuja, Magnanti and Orlin, *Network Flows*, 1993, §6.7). Any two
feasible flows differ by cycles in the first one's residual network, so a
ward's count can rise by as much flow as the residual network carries from the
ward back to the source without the ward's own edge, and fall by as much as it
carries from the source to the ward (§9.4, conformal decomposition). Each is a
maximum flow, stopped as soon as it is large enough to matter: ``reach`` values
are all the caller asks about.

Worked example: wards A, B and C; A's LSOAs are all in decile 1, C's in decile
2, B's in both. Shown: B holds 10 of 15, so A and C, hidden as "0–4", hold 5
between them: A alone could be 1 to 4. The deciles show 13 and 2. B sends at
most 10 to decile 1, so A holds at least 3: :func:`ward_ranges` gives A
``(3, 4)``, two values where the ward table alone left four.

>>> spans = [(0, 4), (10, 10), (0, 4)]
>>> allowed = {(0, 0), (1, 0), (1, 1), (2, 1)}
>>> ward_ranges(spans, [(13, 13), (2, 2)], allowed, 15, {0: 9, 2: 9})
{0: (3, 4), 2: (1, 2)}
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


class _Network:
    """A residual network in edge lists: edge ``i`` and its reverse ``i ^ 1``."""

    def __init__(self, nodes: int) -> None:
        self.edges: list[list[int]] = [[] for _ in range(nodes)]
        self.head: list[int] = []
        self.capacity: list[int] = []

    def add(self, u: int, v: int, capacity: int) -> int:
        """An edge ``u → v`` of ``capacity`` (and its reverse, of none); its index."""
        index = len(self.head)
        self.head += [v, u]
        self.capacity += [capacity, 0]
        self.edges[u].append(index)
        self.edges[v].append(index + 1)
        return index

    def push(self, capacity: list[int], source: int, sink: int, limit: int) -> int:
        """Augment along shortest paths (Edmonds-Karp) in ``capacity``, changing it, until
        ``limit`` has flowed or no path is left; the flow pushed."""
        flow = 0
        nodes = len(self.edges)
        while flow < limit:
            via = [-1] * nodes
            via[source] = -2
            queue = [source]
            for u in queue:
                for e in self.edges[u]:
                    v = self.head[e]
                    if via[v] == -1 and capacity[e] > 0:
                        via[v] = e
                        queue.append(v)
                if via[sink] != -1:
                    break
            if via[sink] == -1:
                return flow
            step, v = limit - flow, sink
            while v != source:
                e = via[v]
                step = min(step, capacity[e])
                v = self.head[e ^ 1]
            v = sink
            while v != source:
                e = via[v]
                capacity[e] -= step
                capacity[e ^ 1] += step
                v = self.head[e ^ 1]
            flow += step
        return flow


def ward_ranges(
    w_spans: Sequence[tuple[int, int]],
    d_spans: Sequence[tuple[int, int]],
    allowed: Iterable[tuple[int, int]],
    total: int,
    reach: dict[int, int],
) -> dict[int, tuple[int, int]] | None:
    """The least and greatest count each ward in ``reach`` can hold, given both tables.

    ``w_spans`` and ``d_spans`` are each ward's and decile's (least, greatest)
    count as the report shows it; ``allowed`` the (ward, decile) pairs the
    geography has; ``total`` the participants placed. A ward's range is exact
    while it holds fewer than ``reach[ward]`` values; a wider one is returned as
    some run of at least ``reach[ward]`` values inside it (enough to say the ward
    is not narrowed). ``None`` when no table fits the spans at all.
    """
    n_w, n_d = len(w_spans), len(d_spans)
    source, sink, super_source, super_sink = n_w + n_d, n_w + n_d + 1, n_w + n_d + 2, n_w + n_d + 3
    network = _Network(n_w + n_d + 4)
    excess = [0] * (n_w + n_d + 2)
    lows: list[int] = []

    def edge(u: int, v: int, low: int, high: int) -> int:
        excess[v] += low
        excess[u] -= low
        return network.add(u, v, high - low)

    ward_edges = []
    for w, (low, high) in enumerate(w_spans):
        ward_edges.append(edge(source, w, low, high))
        lows.append(low)
    for w, d in sorted(set(allowed)):
        edge(w, n_w + d, 0, total)
    for d, (low, high) in enumerate(d_spans):
        edge(n_w + d, sink, low, high)
    edge(sink, source, total, total)
    needed = 0
    supplies = []
    for node, amount in enumerate(excess):
        if amount > 0:
            supplies.append(network.add(super_source, node, amount))
            needed += amount
        elif amount < 0:
            supplies.append(network.add(node, super_sink, -amount))
    capacity = network.capacity[:]
    if network.push(capacity, super_source, super_sink, needed) != needed:
        return None
    for e in supplies:  # the feasible flow's residual network, without the reduction
        capacity[e] = capacity[e ^ 1] = 0
    found = {}
    for ward, values in reach.items():
        e = ward_edges[ward]
        low, high = w_spans[ward]
        flow = lows[ward] + capacity[e ^ 1]
        rise = min(high - flow, values - 1)
        if rise > 0:
            rest = capacity[:]
            rest[e] = rest[e ^ 1] = 0
            rise = network.push(rest, ward, source, rise)
        fall = min(flow - low, values - 1 - rise)
        if fall > 0:
            rest = capacity[:]
            rest[e] = rest[e ^ 1] = 0
            fall = network.push(rest, source, ward, fall)
        found[ward] = (flow - fall, flow + max(rise, 0))
    return found
