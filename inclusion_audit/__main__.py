"""``python -m inclusion_audit`` runs the command line."""

from .cli import main

main()
