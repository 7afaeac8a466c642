"""The ``superionic`` command line.

Each command group lives in its own module with a ``register(app)`` function; this module
only assembles them, so ``superionic --help`` lists every command.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="superionic",
    help="Find superionic Li solid-state electrolytes: screen the Materials Project corpus, "
    "classify candidates with a Magpie-descriptor ensemble, validate them with MD, and keep "
    "every step as documents in a maggma store.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)



@app.callback()
def _root() -> None:
    """Find superionic Li solid-state electrolytes (see ``superionic COMMAND --help``)."""


# Command modules, in the order of the workflow. Each defines ``register(app)``.
COMMAND_MODULES = [
    "run",
    "submit",
    "screen",
    "features",
    "ml",
    "md",
    "md_analysis",
    "build",
    "query",
    "report",
]


def _register_all() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"superionic.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"superionic.cli.{name}":
                continue  # command group not written yet
            raise
        module.register(app)


_register_all()


def main() -> None:
    """Entry point of the ``superionic`` console script."""
    import warnings

    # Library deprecation chatter (jobflow's `cd`, torch tensor conversions in CHGNet) is not
    # for users of the command line; the test suite still sees every warning.
    for category in (FutureWarning, DeprecationWarning, UserWarning):
        warnings.filterwarnings("ignore", category=category)
    app()
