"""A bare click program: the start-up that ``inclusion-audit --help`` is compared with.

python benchmarks/bare_click.py --help
"""

from __future__ import annotations

import click


@click.group()
def cli() -> None:
    """A command line with one subcommand and nothing else."""


@cli.command()
@click.argument("path")
def hello(path: str) -> None:
    """Say hello to PATH."""
    click.echo(f"hello {path}")


if __name__ == "__main__":
    cli()
