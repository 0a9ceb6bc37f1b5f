"""The world: territories, gangs, and the fronts between hostile gangs, which can change.

Territories are the nodes of the Delaunay triangulation of random points in the unit
square, one clique per territory. Gangs hold contiguous patches grown from many seeds
(a graph Voronoi partition with random edge lengths, so patches are irregular), which
interleaves the gangs so that most cliques border a rival.

The adjacency is fixed; who holds a territory and which gangs are hostile are not. A
front is a directed adjacency edge a -> b between cliques of hostile gangs, so the
fronts follow the world: :func:`split_gang` divides a gang into two hostile factions,
:func:`take_territory` passes territories to a rival, and :func:`refresh_fronts`
derives the fronts again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import Delaunay

from trucesim.mechanisms.declare import Mechanism
from trucesim.numerics.jit import kernel
from trucesim.scenario.params import WorldParams

DECLARATION = Mechanism(
    "world", "territories, gangs and the fronts between hostile gangs, which events change",
    steps=(1,), params=WorldParams,
    state=("cliques.gang", "cliques.x", "cliques.baseline_autonomy", "edges.src", "edges.dst",
           "edges.rev", "fronts.count", "fronts.edge", "fronts.src", "fronts.dst",
           "fronts.rev", "gangs.exists", "gangs.hostile", "gangs.baseline_autonomy",
           "gangs.clique_count"),
)


@dataclass(frozen=True, slots=True)
class Territory:
    """The fixed geography of a world and its initial holders.

    Attributes:
        points: (n, 2) territory centres in the unit square.
        edges: (E, 2) undirected adjacency edges, i < j.
        gang: (n,) gang index of each territory's clique at the start.
    """

    points: np.ndarray
    edges: np.ndarray
    gang: np.ndarray

    @property
    def n(self) -> int:
        """Number of territories (and cliques)."""
        return len(self.gang)


def delaunay_edges(points: np.ndarray) -> np.ndarray:
    """Unique undirected edges (i < j) of the Delaunay triangulation of ``points``."""
    tri = Delaunay(points)
    s = tri.simplices
    e = np.concatenate([s[:, [0, 1]], s[:, [1, 2]], s[:, [0, 2]]]).astype(np.int64)
    e.sort(axis=1)
    # One int64 key per edge (i * n + j): a 1-D unique is far cheaper than rows.
    n = len(points)
    keys = np.unique(e[:, 0] * n + e[:, 1])
    return np.stack([keys // n, keys % n], axis=1)


def grow_patches(
    n: int, edges: np.ndarray, n_seeds: int, rng: np.random.Generator
) -> np.ndarray:
    """Partition the graph into ``n_seeds`` contiguous patches; returns each node's patch.

    Each node joins the seed nearest to it along the graph, with random edge lengths so
    that patch shapes are irregular. Every patch is connected (it is a shortest-path tree).
    ``edges``: unique undirected edges (i < j); their lengths are drawn in this order.
    """
    seeds = rng.choice(n, size=n_seeds, replace=False)
    weights = rng.uniform(0.5, 1.5, size=len(edges))
    # The lengths as a CSR matrix in canonical form (rows, then columns, in order), built
    # directly: the same arrays as from a COO matrix, without converting one.
    order = np.lexsort((edges[:, 1], edges[:, 0]))
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(edges[:, 0], minlength=n), out=indptr[1:])
    graph = sparse.csr_matrix((weights[order], edges[order, 1], indptr), shape=(n, n))
    _, _, sources = dijkstra(
        graph, directed=False, indices=seeds, min_only=True, return_predecessors=True
    )
    order = np.empty(n, dtype=np.int64)
    order[seeds] = np.arange(n_seeds)
    return order[sources]


def build_territory(
    cliques: int,
    patch_size: float,
    shares: np.ndarray,
    rng: np.random.Generator,
) -> Territory:
    """Build a world of ``cliques`` territories held by gangs in expected ``shares``.

    Args:
        cliques: number of territories.
        patch_size: mean number of territories per contiguous patch.
        shares: (G,) expected share of territories of each gang (sums to 1).
        rng: the model's random generator.
    """
    points = rng.random((cliques, 2))
    if cliques < 3:
        # Delaunay needs three points; two territories are simply adjacent.
        edges = np.array([[0, 1]], dtype=np.int64) if cliques == 2 else np.zeros((0, 2), int)
    else:
        edges = delaunay_edges(points).astype(np.int64)
    n_seeds = int(np.clip(round(cliques / patch_size), 1, cliques))
    patch = grow_patches(cliques, edges, n_seeds, rng)
    patch_gang = rng.choice(len(shares), size=n_seeds, p=shares)
    return Territory(points=points, edges=edges, gang=patch_gang[patch].astype(np.int64))


def directed_edges(edges: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Both directions of every edge, sorted by attacker (so that per-edge gathers of
    clique arrays read memory in order): (src, dst, rev), rev the reverse edge's index."""
    m = len(edges)
    src = np.concatenate([edges[:, 0], edges[:, 1]])
    dst = np.concatenate([edges[:, 1], edges[:, 0]])
    order = np.lexsort((dst, src))
    position = np.empty(2 * m, dtype=np.int64)
    position[order] = np.arange(2 * m)
    rev = position[np.concatenate([np.arange(m, 2 * m), np.arange(m)])[order]]
    return src[order], dst[order], rev


@kernel(separate=True)
def refresh_fronts(cliques, edges, fronts, gangs):
    """Derive the fronts (edges between hostile gangs) and the gangs' clique counts from
    today's holders. Front state goes back to the edges and comes out again for the new
    fronts; an edge that stops being a front forgets its excitation."""
    for f in range(fronts.count[0]):
        e = fronts.edge[f]
        edges.excitation[e] = fronts.excitation[f]
        edges.last_killing[e] = fronts.last_killing[f]
    gang = cliques.gang
    position = np.full(len(edges.src), -1)
    count = 0
    for e in range(len(edges.src)):
        if gangs.hostile[gang[edges.src[e]], gang[edges.dst[e]]]:
            position[e] = count
            fronts.edge[count] = e
            fronts.src[count] = edges.src[e]
            fronts.dst[count] = edges.dst[e]
            fronts.excitation[count] = edges.excitation[e]
            fronts.last_killing[count] = edges.last_killing[e]
            count += 1
        else:
            edges.excitation[e] = 0.0
    cliques.own_excitation[:] = 0.0
    for f in range(count):
        fronts.rev[f] = position[edges.rev[fronts.edge[f]]]
        cliques.own_excitation[fronts.src[f]] += fronts.excitation[f]
    fronts.count[0] = count
    gangs.clique_count[:] = 0
    for i in range(len(gang)):
        gangs.clique_count[gang[i]] += 1


@kernel
def whole_share(share, count):
    """How many of ``count`` items a ``share`` is: rounded, and at least one if any."""
    return min(count, max(1, int(round(share * count)))) if count else 0


@kernel
def indices_where(mask):
    """The indices where ``mask`` is true, in order (``np.flatnonzero(mask)``, written as
    a loop: numba compiles it in a fraction of numpy's generic version)."""
    count = 0
    for i in range(len(mask)):
        count += mask[i]
    out = np.empty(count, dtype=np.int64)
    j = 0
    for i in range(len(mask)):
        if mask[i]:
            out[j] = i
            j += 1
    return out


@kernel
def westmost(x, idx):
    """``idx`` ordered west to east by ``x[idx]``, ties in their order in ``idx``: the
    same order as ``idx[np.argsort(x[idx], kind="mergesort")]`` (a stable bottom-up merge
    sort; numba compiles it in a fraction of ``np.argsort``'s generic version)."""
    n = len(idx)
    a = idx.copy()
    b = np.empty_like(a)
    width = 1
    while width < n:
        for lo in range(0, n, 2 * width):
            mid, hi = min(lo + width, n), min(lo + 2 * width, n)
            i, j, k = lo, mid, lo
            while i < mid and j < hi:
                if x[a[j]] < x[a[i]]:  # strictly west: ties keep the left run first
                    b[k] = a[j]
                    j += 1
                else:
                    b[k] = a[i]
                    i += 1
                k += 1
            while i < mid:
                b[k] = a[i]
                i += 1
                k += 1
            while j < hi:
                b[k] = a[j]
                j += 1
                k += 1
        a, b = b, a
        width *= 2
    return a


@kernel(separate=True)
def split_gang(cliques, gangs, parent, faction, share):
    """A share of ``parent``'s cliques (rounded, at least one), the westmost, break away
    as gang ``faction``, hostile to its parent and to every gang the parent fights. The
    faction's leaders start with the parent's authority and isolation, bound by no
    communique."""
    held = westmost(cliques.x, indices_where(cliques.gang == parent))
    for j in range(whole_share(share, len(held))):
        i = held[j]
        cliques.gang[i] = faction
        cliques.restraint[i] = 0.0
        cliques.pressure[i] = 0.0
    gangs.exists[faction] = True
    # The parent's row, then its column, copied by loops (numba's generic 2-d slice
    # assignment took about 2.5 s of the first compile).
    hostile = gangs.hostile
    for g in range(hostile.shape[1]):
        hostile[faction, g] = hostile[parent, g]
    for g in range(hostile.shape[0]):
        hostile[g, faction] = hostile[g, parent]
    hostile[faction, parent] = True
    hostile[parent, faction] = True
    hostile[faction, faction] = False
    gangs.authority[faction] = gangs.authority[parent]
    gangs.isolation[faction] = gangs.isolation[parent]
    gangs.forced_until[faction] = -(10**9)  # no communique of the parent binds it


@kernel(separate=True)
def take_territory(cliques, edges, gangs, loser, winner, share):
    """A share of ``loser``'s territories that border ``winner`` (rounded, at least one),
    the westmost, pass to ``winner``: the clique there now belongs to the winner (with
    its baseline autonomy)."""
    gang = cliques.gang
    border = np.zeros(len(gang), dtype=np.bool_)
    for e in range(len(edges.src)):
        if gang[edges.src[e]] == loser and gang[edges.dst[e]] == winner:
            border[edges.src[e]] = True
    candidates = westmost(cliques.x, indices_where(border))
    for j in range(whole_share(share, len(candidates))):
        i = candidates[j]
        gang[i] = winner
        cliques.baseline_autonomy[i] = gangs.baseline_autonomy[winner]
        cliques.restraint[i] = 0.0
        cliques.pressure[i] = 0.0
