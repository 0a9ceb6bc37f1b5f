"""The package's top level: its public names, imported on first use."""

from __future__ import annotations

import subprocess
import sys

import pytest

import trucesim


def test_every_public_name_resolves_to_its_module():
    assert set(trucesim.__all__) == {"__version__", *trucesim._EXPORTS}
    for name in trucesim.__all__:
        assert getattr(trucesim, name) is not None, name
    assert trucesim.simulate is __import__("trucesim.api", fromlist=["simulate"]).simulate
    assert set(trucesim.__all__) <= set(dir(trucesim))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        trucesim.nope  # noqa: B018


def test_importing_a_kernel_module_imports_neither_mesa_nor_pandas():
    """``import trucesim.numerics.jit`` (as a fresh process testing the kernel cache
    does) and the CLI's argument parser load the package without the model."""
    code = ("import sys, trucesim.numerics.jit, trucesim.cli.main; "
            "print(sorted(m for m in ('mesa', 'pandas', 'trucesim.core.model') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
