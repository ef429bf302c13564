"""`python -m mops` runs the command line."""

from mops.cli import main

main()
