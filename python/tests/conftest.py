"""Shared fixtures: the module under test comes from the build tree (the
Makefile puts python/pkg first on PYTHONPATH)."""
import os

import pytest


@pytest.fixture
def Pool():
    from cymem.cymem import Pool
    return Pool


@pytest.fixture
def srcdir():
    return os.environ.get("CYMEM_SRCDIR", os.path.join(os.path.dirname(__file__), ".."))
