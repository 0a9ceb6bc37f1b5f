"""Territory: a planar adjacency graph of territories, gang patches and directed fronts.

Territories are the nodes of the Delaunay triangulation of random points in the unit
square, one clique per territory. Gangs hold contiguous patches grown from many seeds
(a graph Voronoi partition with random edge lengths, so patches are irregular), which
interleaves the gangs so that most cliques border a rival. A front is an edge between
territories of rival gangs; each front is two directed fronts (a -> b and b -> a).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import Delaunay


@dataclass(frozen=True, slots=True)
class Territory:
    """The static geography of a world.

    Attributes:
        points: (n, 2) territory centres in the unit square.
        edges: (E, 2) undirected adjacency edges, i < j.
        gang: (n,) gang index of each territory's clique.
        rivalry: (G, G) boolean, True where two gangs fight.
        front_src: (F,) attacking clique of each directed front (sorted).
        front_dst: (F,) attacked clique of each directed front.
        front_rev: (F,) index of the reverse front (b -> a for a -> b).
    """

    points: np.ndarray
    edges: np.ndarray
    gang: np.ndarray
    rivalry: np.ndarray
    front_src: np.ndarray
    front_dst: np.ndarray
    front_rev: np.ndarray

    @property
    def n(self) -> int:
        """Number of territories (and cliques)."""
        return len(self.gang)

    @property
    def fronts(self) -> int:
        """Number of directed fronts."""
        return len(self.front_src)


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
    """
    seeds = rng.choice(n, size=n_seeds, replace=False)
    weights = rng.uniform(0.5, 1.5, size=len(edges))
    graph = sparse.coo_matrix((weights, (edges[:, 0], edges[:, 1])), shape=(n, n)).tocsr()
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
    rivalry: np.ndarray,
    rng: np.random.Generator,
) -> Territory:
    """Build a world of ``cliques`` territories held by gangs in expected ``shares``.

    Args:
        cliques: number of territories.
        patch_size: mean number of territories per contiguous patch.
        shares: (G,) expected share of territories of each gang (sums to 1).
        rivalry: (G, G) boolean matrix, True where two gangs fight.
        rng: the model's random generator.
    """
    if cliques < 3:
        # Delaunay needs three points; two territories are simply adjacent.
        points = rng.random((cliques, 2))
        edges = np.array([[0, 1]], dtype=np.int64) if cliques == 2 else np.zeros((0, 2), int)
    else:
        points = rng.random((cliques, 2))
        edges = delaunay_edges(points).astype(np.int64)
    n_seeds = int(np.clip(round(cliques / patch_size), 1, cliques))
    patch = grow_patches(cliques, edges, n_seeds, rng)
    patch_gang = rng.choice(len(shares), size=n_seeds, p=shares)
    gang = patch_gang[patch].astype(np.int64)

    a, b = edges[:, 0], edges[:, 1]
    rival = rivalry[gang[a], gang[b]]
    a, b = a[rival], b[rival]
    m = len(a)
    src = np.concatenate([a, b])
    dst = np.concatenate([b, a])
    # Directed fronts in order of their attacker, so per-front gathers of clique arrays
    # read memory in order.
    order = np.lexsort((dst, src))
    src, dst = src[order], dst[order]
    position = np.empty(2 * m, dtype=np.int64)
    position[order] = np.arange(2 * m)
    rev = position[np.concatenate([np.arange(m, 2 * m), np.arange(m)])[order]]
    return Territory(
        points=points,
        edges=edges,
        gang=gang,
        rivalry=rivalry,
        front_src=src,
        front_dst=dst,
        front_rev=rev,
    )
