"""Decode stored JSON documents with monty, allowing only document classes of known packages.

``MontyDecoder`` imports whatever ``@module`` a document names and calls the class it finds
(``from_dict``, a pydantic model, a dataclass) or returns the function an ``@callable``
names. A document in a shared store is written by whoever can write to the database, so
:func:`decode` first checks every ``@module`` of the document, nested ones included, against
:data:`ALLOWED_MODULES` and refuses the whole document, before importing anything, if one
falls outside.
"""

from __future__ import annotations

from typing import Any

ALLOWED_MODULES = (
    "superionic",
    "pymatgen",
    "emmet",
    "atomate2",
    "custodian",  # atomate2's VASP task documents record their custodian jobs (VaspJob)
    "jobflow",
    "jobflow_remote",
    "maggma",
    "monty",
    # types monty's own decoder handles (arrays, frames, dates, ids, paths, tensors)
    "numpy",
    "pandas",
    "datetime",
    "uuid",
    "pathlib",
    "bson",
    "torch",
)
"""Packages whose classes a stored document may name: this project's and its dependencies'."""


class ForeignModuleError(ValueError):
    """A stored document that names a module outside :data:`ALLOWED_MODULES`."""


def allowed(module: object) -> bool:
    """Whether ``module`` (a document's ``@module``) is one of :data:`ALLOWED_MODULES` or inside one."""
    return isinstance(module, str) and any(module == p or module.startswith(p + ".") for p in ALLOWED_MODULES)


def check_modules(obj: Any, source: str = "a stored document") -> None:
    """Raise :class:`ForeignModuleError` if ``obj`` (nested dicts and lists) names a foreign ``@module``."""
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "@module" in item and not allowed(item["@module"]):
                what = item.get("@class") or item.get("@callable")
                raise ForeignModuleError(
                    f"{source} names {item['@module']!r}.{what} (@module), which is not a document class "
                    f"of this project or its dependencies ({', '.join(ALLOWED_MODULES)}): refused, not "
                    "decoded. Whoever wrote it can write to this database; remove the document."
                )
            stack.extend(v for v in item.values() if isinstance(v, (dict, list)))
        elif isinstance(item, list):
            stack.extend(v for v in item if isinstance(v, (dict, list)))


def decode(obj: Any, source: str = "a stored document") -> Any:
    """``MontyDecoder().process_decoded(obj)`` after :func:`check_modules`."""
    from monty.json import MontyDecoder

    check_modules(obj, source)
    return MontyDecoder().process_decoded(obj)
