"""The directory ``autolog run -- COMMAND`` puts first on ``PYTHONPATH``.

It holds only `sitecustomize.py`, which Python's `site` module imports at the start of
every interpreter that finds it; see `autolog.launcher`.
"""
