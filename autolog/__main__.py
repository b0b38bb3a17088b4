"""``python -m autolog ...``: the same command line as the ``autolog`` script."""

from autolog.cli import main

if __name__ == "__main__":
    main()
