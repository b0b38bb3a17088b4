"""Tracking: which run is active, the sessions autologging opens, and how values reach a
backend (the fluent API, the client, the asynchronous logger, provenance, system metrics).

Imports run one way (DESIGN.md): tracking imports the foundation (``autolog.core``'s
errors, config, entities, validation, search, reporting) and ``autolog.backends`` only.
"""
