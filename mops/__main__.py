"""`python -m mops` runs the command line."""

from mops.cli import main

if __name__ == "__main__":   # not when a helper process imports this module (spawn)
    main()
