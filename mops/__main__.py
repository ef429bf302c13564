"""`python -m mops` runs the command line."""

from mops.cli import main

if __name__ == "__main__":   # only when run, never when imported
    main()
