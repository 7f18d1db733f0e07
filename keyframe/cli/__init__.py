"""Command line: a thin click layer over the library (logic lives in the modules it calls).

The group lives in ``_base``; every other module in this package registers its commands on
it and is imported here, so a new command module needs no edit elsewhere.
Exit codes (DESIGN.md): 0 all certified, 1 some not certified, 2 usage or input errors.
"""
from __future__ import annotations

import importlib
import pkgutil

from keyframe.cli._base import main

for _mod in pkgutil.iter_modules(__path__):
    if not _mod.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_mod.name}")

__all__ = ["main"]
