"""cymem: memory pools for Cython and Python, on libcymem.

A drop-in replacement for the cymem package (explosion/cymem 2.x):
``from cymem.cymem cimport Pool`` in Cython, ``from cymem.cymem import
Pool`` in Python.  See doc/python.md.
"""
from .about import *  # noqa: F401,F403
# (`import *` leaves out names that start with an underscore)
from .about import __version__  # noqa: F401
