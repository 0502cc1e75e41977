"""The reference producer: HTTP in, write-ahead log, idempotent XADD (app.py)."""
