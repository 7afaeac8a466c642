"""Connected components of a periodic graph and their dimensionality (Larsen et al., 2019).

Edges carry the image offset of their second site. Walking a component, each site gets an
offset; an edge that closes a loop with a non-zero net translation adds that translation to
the component's lattice. The rank of those translations is the dimensionality: 0 (a finite
cluster), 1 (chains), 2 (layers), 3 (a 3D network).
"""

from __future__ import annotations

from collections import deque

import numpy as np


def component_dimensions(n: int, edges: list[tuple[int, int, np.ndarray]]) -> list[tuple[list[int], int]]:
    """(members, dimensionality) of each connected component of ``n`` sites."""
    adj: dict[int, list[tuple[int, np.ndarray]]] = {i: [] for i in range(n)}
    for a, b, img in edges:
        img = np.asarray(img, dtype=int)
        adj[a].append((b, img))
        adj[b].append((a, -img))
    seen: dict[int, np.ndarray] = {}
    out = []
    for start in range(n):
        if start in seen:
            continue
        seen[start] = np.zeros(3, dtype=int)
        members, loops, queue = [start], [], deque([start])
        while queue:
            a = queue.popleft()
            for b, img in adj[a]:
                offset = seen[a] + img
                if b not in seen:
                    seen[b] = offset
                    members.append(b)
                    queue.append(b)
                else:
                    delta = offset - seen[b]
                    if delta.any():
                        loops.append(delta)
        dim = int(np.linalg.matrix_rank(np.array(loops))) if loops else 0
        out.append((members, dim))
    return out


def max_dimensionality(n: int, edges: list[tuple[int, int, np.ndarray]]) -> int:
    """Largest dimensionality over the components (0 when there are no edges)."""
    return max((d for _, d in component_dimensions(n, edges)), default=0)
