"""`tracker`: the local stack, the demo, imports, extracts, sign-ins — one command group per module here.

Every module of this package that defines `register(app)` adds its commands; `stack` comes first so
`tracker --help` lists up/down/status/demo at the top.
"""

from __future__ import annotations

import importlib
import pkgutil

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Tracker: the local stack, the demo, imports, extracts and sign-ins.")

_FIRST = ("stack", "imports", "extract", "auth")


def _register_all() -> None:
    names = [m.name for m in pkgutil.iter_modules(__path__) if m.name != "common"]
    for name in sorted(names, key=lambda n: (_FIRST.index(n) if n in _FIRST else len(_FIRST), n)):
        module = importlib.import_module(f"{__name__}.{name}")
        if hasattr(module, "register"):
            module.register(app)


_register_all()

if __name__ == "__main__":
    app()
