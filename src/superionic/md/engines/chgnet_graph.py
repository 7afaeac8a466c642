"""CHGNet's crystal graph from an ASE ``Atoms``, built with numpy instead of Python objects.

``chgnet.graph.CrystalGraphConverter`` (even its "fast" Cython algorithm) turns the neighbour
list into Python ``Node`` / ``DirectedEdge`` / ``UndirectedEdge`` objects and then walks them in
Python to list the bond-graph angles: 8-50 ms per call on the seed's 64-144-atom cells
(measured on the 2-core machine), plus ~1.5 ms for the pymatgen ``Structure`` it takes as input.
:func:`crystal_graph_from_atoms` builds the same ``CrystalGraph`` -- the same neighbour list
(pymatgen's ``find_points_in_spheres`` with the converter's arguments, on the coordinates that
``AseAtomsAdaptor`` would hand it) and the same tensors in the same order -- with array
operations, in 1.5-6 ms on the same cells. ``tests/test_md_makers.py`` checks that every
tensor equals the stock converter's bit for bit (a seed cell as built, displaced, and shifted out
of the cell; a 3-atom cell whose atoms bond to their own images), and in
``benchmarks/forcefield_md_speed.py --compare`` MD trajectories of both paths stay identical.

How the stock converter orders things (``chgnet/graph/fast_converter_libraries/create_graph.c``,
identical to the legacy Python ``Graph.add_edge`` for a symmetric neighbour list):

- directed edges are the neighbour-list rows, in order;
- row k = (i, j, image n) joins the undirected edge of its reverse row (j, i, -n) when that row
  came earlier, else it opens a new undirected edge (numbered in order of opening);
- the angles (``line_graph_adjacency_list``): for each undirected edge u no longer than the
  bond-graph cutoff, for each of its two directed edges d (opener first) with centre c, every
  other directed edge e leaving c that is shorter than the cutoff -> row (c, u, d, u(e), e).
  The edges leaving c are visited grouped by neighbour atom, groups in order of first
  appearance, rows in order within a group (a uthash table iterated in insertion order).

Anything unusual (a row without its reverse, an isolated atom, a non-periodic cell) falls back to
the stock converter, so errors and warnings stay CHGNet's own.
"""

from __future__ import annotations

import numpy as np


def fractional_and_cartesian(positions: np.ndarray, cell: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The fractional and Cartesian coordinates a pymatgen ``Structure`` made from these has.

    ``AseAtomsAdaptor.get_structure`` stores ``positions @ inv(cell)``; the structure's
    Cartesian coordinates are recomputed from those, site by site (``frac @ cell``).
    """
    frac = np.dot(positions, np.linalg.inv(cell))
    cart = np.array([np.dot(f, cell) for f in frac])
    return frac, cart


def neighbor_list(cart: np.ndarray, cell: np.ndarray, cutoff: float, numerical_tol: float = 1e-8):
    """``Structure.get_neighbor_list(r=cutoff, sites=structure.sites, numerical_tol)`` on arrays."""
    from pymatgen.optimization.neighbors import find_points_in_spheres

    cart = np.ascontiguousarray(cart, dtype=float)
    center, neighbor, image, distance = find_points_in_spheres(
        cart, cart, r=float(cutoff), pbc=np.ones(3, dtype=np.int64),
        lattice=np.ascontiguousarray(cell, dtype=float), tol=numerical_tol,
    )
    keep = ~((center == neighbor) & (distance <= numerical_tol))
    return center[keep], neighbor[keep], image[keep], distance[keep]


def reverse_rows(center: np.ndarray, neighbor: np.ndarray, image: np.ndarray) -> np.ndarray | None:
    """For each row (i, j, n) the index of the row (j, i, -n); None if any row has none."""
    image = np.asarray(image, dtype=np.int64)
    n_rows = len(center)
    if n_rows == 0:
        return np.zeros(0, dtype=np.int64)
    span = int(np.abs(image).max()) * 2 + 1  # image components fit in [-span // 2, span // 2]
    n_atoms = int(max(center.max(), neighbor.max())) + 1

    def key(a, b, img):
        shifted = img + span // 2
        return ((a * n_atoms + b) * span + shifted[:, 0]) * span * span + shifted[:, 1] * span + shifted[:, 2]

    forward = key(center.astype(np.int64), neighbor.astype(np.int64), image)
    backward = key(neighbor.astype(np.int64), center.astype(np.int64), -image)
    order = np.argsort(forward, kind="stable")
    sorted_keys = forward[order]
    if len(np.unique(sorted_keys)) != n_rows:
        return None  # duplicate rows: leave it to the stock converter
    pos = np.searchsorted(sorted_keys, backward)
    pos = np.minimum(pos, n_rows - 1)
    if not np.array_equal(sorted_keys[pos], backward):
        return None
    return order[pos]


def graph_arrays(n_atoms: int, center, neighbor, image, distance, bond_cutoff: float):
    """(atom_graph, directed2undirected, undirected2directed, bond_graph) as int arrays, or None.

    The stock converter's output for this neighbour list (see the module docstring), or None
    where its special cases apply (a row without reverse, an isolated atom).
    """
    partner = reverse_rows(center, neighbor, image)
    if partner is None:
        return None
    n_rows = len(center)
    if len(np.unique(center)) != n_atoms:
        return None  # isolated atom(s): the stock converter warns or raises
    rows = np.arange(n_rows)
    opener = partner > rows  # opens an undirected edge
    undirected_index = np.cumsum(opener) - 1
    directed2undirected = np.where(opener, undirected_index, undirected_index[partner])
    undirected2directed = rows[opener]  # the opener of each undirected edge
    atom_graph = np.stack([center, neighbor], axis=1)

    # Edges leaving each atom, in the converter's visiting order: by centre, then neighbour
    # group in order of first appearance (per centre), then row.
    pair = center.astype(np.int64) * n_atoms + neighbor
    _, first_row, inverse = np.unique(pair, return_index=True, return_inverse=True)
    first_of_pair = first_row[inverse]  # row where this (centre, neighbour) group first appears
    visit = np.lexsort((rows, first_of_pair, center))
    short = distance[visit] < bond_cutoff
    leaving = visit[short]  # short directed edges leaving each atom, in visiting order
    leaving_center = center[leaving]
    starts = np.searchsorted(leaving_center, np.arange(n_atoms))
    counts = np.bincount(leaving_center, minlength=n_atoms)

    # The two sides of each undirected edge no longer than the cutoff: opener first.
    u_rows = undirected2directed[distance[undirected2directed] <= bond_cutoff]
    u_ids = directed2undirected[u_rows]
    side_rows = np.stack([u_rows, partner[u_rows]], axis=1).reshape(-1)
    side_u = np.repeat(u_ids, 2)
    side_center = center[side_rows]
    n_per_side = counts[side_center]
    side_of = np.repeat(np.arange(len(side_rows)), n_per_side)
    offset = np.arange(len(side_of)) - np.repeat(np.cumsum(n_per_side) - n_per_side, n_per_side)
    other = leaving[starts[side_center][side_of] + offset]
    own = side_rows[side_of]
    keep = other != own
    side_of, other = side_of[keep], other[keep]
    bond_graph = np.stack(
        [side_center[side_of], side_u[side_of], side_rows[side_of], directed2undirected[other], other], axis=1
    )
    return atom_graph, directed2undirected, undirected2directed, bond_graph


def crystal_graph_from_atoms(converter, numbers, positions, cell, *, composition: str):
    """The ``CrystalGraph`` that ``converter(AseAtomsAdaptor.get_structure(atoms))`` returns.

    None where the stock converter's own handling applies (a neighbour-list row without its
    reverse, an isolated atom): the caller then calls the converter.

    ``numbers``, ``positions`` (Angstrom) and ``cell`` (3x3 rows) describe a periodic cell;
    ``composition`` is the formula string the graph carries (not used by the model).
    """
    import torch
    from chgnet.graph.crystalgraph import CrystalGraph
    from chgnet.graph.converter import TORCH_DTYPE

    cell = np.asarray(cell, dtype=float).reshape(3, 3)
    frac, cart = fractional_and_cartesian(positions, cell)
    center, neighbor, image, distance = neighbor_list(cart, cell, converter.atom_graph_cutoff)
    arrays = graph_arrays(len(numbers), center, neighbor, image, distance, converter.bond_graph_cutoff)
    if arrays is None:
        return None
    atom_graph, directed2undirected, undirected2directed, bond_graph = arrays
    return CrystalGraph(
        atomic_number=torch.tensor(np.asarray(numbers), dtype=torch.int32, requires_grad=False),
        atom_frac_coord=torch.tensor(frac, dtype=TORCH_DTYPE, requires_grad=True),
        atom_graph=torch.from_numpy(atom_graph.astype(np.int32)),
        neighbor_image=torch.tensor(image, dtype=TORCH_DTYPE),
        directed2undirected=torch.from_numpy(directed2undirected.astype(np.int32)),
        undirected2directed=torch.from_numpy(undirected2directed.astype(np.int32)),
        bond_graph=torch.from_numpy(bond_graph.astype(np.int32).reshape(-1, 5)),
        lattice=torch.tensor(cell, dtype=TORCH_DTYPE, requires_grad=True),
        graph_id=None,
        mp_id=None,
        composition=composition,
        atom_graph_cutoff=converter.atom_graph_cutoff,
        bond_graph_cutoff=converter.bond_graph_cutoff,
    )
