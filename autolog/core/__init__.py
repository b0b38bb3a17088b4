"""The machinery every integration shares: runs, logging, patching, models.

Nothing here imports an ML framework or NumPy at import time.
"""
