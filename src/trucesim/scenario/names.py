"""Names that become folder names (scenario, variant and experiment names)."""

from __future__ import annotations

import re

#: What a name that becomes a folder may be made of.
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
NAME_RULE = ("letters, digits, '.', '_' and '-' only, starting with a letter or digit "
             "(it names the results folder)")


def check_name(name: str) -> str:
    """Return ``name`` if it is safe as a folder name, else raise ``ValueError``."""
    if not isinstance(name, str) or not NAME_RE.match(name) or name in (".", ".."):
        raise ValueError(f"{name!r} is not a valid name: {NAME_RULE}")
    return name
