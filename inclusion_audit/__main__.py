"""``python -m inclusion_audit`` runs the command line."""

from inclusion_audit.cli.app import main

main()
