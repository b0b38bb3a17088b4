"""Tracking backends: where runs are stored. See `autolog.backends.base.TrackingBackend`."""
