"""Seeds, written once: what a seed may be, and which seed each replicate runs.

- :func:`parse_seed`: a seed from text (the command line, the dashboard's text box):
  an integer from 0 to :data:`SEED_MAX`, or a one-line reason why not.
- :func:`replicate_seed`: replicate ``r`` of a root seed runs
  ``SeedSequence(root).spawn(R)[r]`` whatever ``R`` is, in every variant and at every
  design point (common random numbers, :data:`SEEDING`).
"""

from __future__ import annotations

import numpy as np

#: The largest seed accepted (seeds are non-negative 63-bit integers).
SEED_MAX = 2**63 - 1
#: Longest seed text read (``SEED_MAX`` has 19 digits).
SEED_TEXT_MAX = 20
#: How replicates are seeded, as manifests record it.
SEEDING = ("numpy SeedSequence(root_seed).spawn(replicates); replicate r uses child r in "
           "every variant (common random numbers)")


def parse_seed(text: object) -> int:
    """The seed ``text`` names.

    Raises:
        ValueError: one line saying why ``text`` is not a seed (not an integer, or outside
            0 to ``2**63-1``).
    """
    s = str(text).strip()
    if len(s) > SEED_TEXT_MAX:
        raise ValueError(f"{s[:SEED_TEXT_MAX]!r}... is longer than a seed")
    try:
        value = int(s)
    except ValueError:
        raise ValueError(f"{s!r} is not an integer") from None
    if not 0 <= value <= SEED_MAX:
        raise ValueError(f"{value} is outside 0 to 2**63-1")
    return value


def replicate_seed(root_seed: int, replicate: int) -> np.random.SeedSequence:
    """The seed of replicate ``replicate``: ``SeedSequence(root_seed).spawn(R)[replicate]``
    for any ``R`` above ``replicate`` (the same child, built without spawning the others)."""
    return np.random.SeedSequence(int(root_seed), spawn_key=(int(replicate),))
