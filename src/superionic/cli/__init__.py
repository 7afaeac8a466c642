"""The ``superionic`` command line.

Each command group lives in its own module with a ``register(app)`` function. This module
holds a *static* registry of the commands (name -> module, one-line help), so that
``superionic --help`` lists every command without importing any of them; a command's module
(and the libraries it needs) is imported only when that command runs or shows its own help.
``tests/test_cli_startup.py`` checks that the registry matches what the modules register.
"""

from __future__ import annotations

import importlib
from functools import lru_cache

import click
import typer
from typer.core import TyperGroup

COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("run", "Run the whole discovery: screening, classifier, predictions, MD, conductivity, report."),
    "submit": ("submit", "Run or queue a superionic flow on an engine."),
    "screen": ("screen", "Screen a corpus: no transition metal, band gap, E_hull, oxidation voltage."),
    "featurize": ("features", "Write the 145 Magpie descriptors (matminer's column names) of each formula in a CSV."),
    "train": ("ml", "Run the classifier study, print its table, save the GB + LightGBM surrogate."),
    "predict": ("ml", "Classify the screened candidates in the store, or the compositions of a CSV file."),
    "md": ("md", "MD of one material at a temperature series -> D(T) -> Ea, sigma(300 K) with intervals."),
    "finetune": ("finetune", "Fine-tune CHGNet on DFT frames; held-out force errors of the base and the tuned potential."),
    "analyze": ("md_analysis", "D(Li) per temperature with 95 % intervals; Ea and sigma(300 K) from 2+ temperatures."),
    "build": ("build", "Build features, predictions, diffusion and conductivity documents from what is new."),
    "query": ("query", "List candidates from the store; filter by anion type, verdict and sigma(300 K)."),
    "report": ("report", "Write report.html (self-contained, figures embedded) and its PNGs from the store."),
}
"""Command name -> (module in ``superionic.cli``, one-line help), in the order of the workflow."""


@lru_cache(maxsize=None)
def module_commands(module: str) -> dict[str, click.Command]:
    """The click commands that ``superionic.cli.<module>.register`` adds (imports it)."""
    sub = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    sub.callback()(lambda: None)  # always a group, even for one command
    importlib.import_module(f"superionic.cli.{module}").register(sub)
    return dict(typer.main.get_command(sub).commands)


class LazyCommandGroup(TyperGroup):
    """A typer group whose commands are imported on first use, listed from ``COMMANDS``."""

    _listing = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, short_help = COMMANDS[cmd_name]
        if self._listing:  # the root --help: a placeholder with the static help, no import
            return click.Command(cmd_name, help=short_help, short_help=short_help)
        return module_commands(module).get(cmd_name)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def resolve_command(self, ctx: click.Context, args: list[str]):
        # typer suggests close names ("Did you mean 'run'?") from ``self.commands``
        self.commands = {name: click.Command(name, help=text) for name, (_, text) in COMMANDS.items()}
        return super().resolve_command(ctx, args)


app = typer.Typer(
    name="superionic",
    cls=LazyCommandGroup,
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


QUIET_WARNINGS: tuple[tuple[type[Warning], str], ...] = (
    (FutureWarning, "jobflow"),  # monty's deprecation of `cd`, inside jobflow's run_locally
    (UserWarning, "jobflow"),  # "Some jobs are not connected, their ordering may be random"
    (UserWarning, "chgnet"),  # torch tensor conversions inside CHGNet
    (UserWarning, "torch"),
    (UserWarning, "sevenn"),  # "No tensor product accelerator is enabled" (a GPU extra) on every load
)
"""(category, package) of the third-party warnings the command line does not show: library
chatter a user cannot act on. Every other warning shows, this project's own first of all
(e.g. a surrogate saved with other library versions); the test suite sees them all."""


def quiet_third_party_warnings() -> None:
    """Ignore the :data:`QUIET_WARNINGS` (raised from those packages' modules), nothing else."""
    import warnings

    for category, package in QUIET_WARNINGS:
        warnings.filterwarnings("ignore", category=category, module=rf"{package}(\.|$)")


def main() -> None:
    """Entry point of the ``superionic`` console script."""
    quiet_third_party_warnings()
    from superionic.redaction import install_log_redaction

    install_log_redaction()  # job tracebacks that jobflow logs never carry a password
    app()
