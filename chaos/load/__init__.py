"""Load generation (Locust, always in subprocesses) and the publish history; see docs/load.md."""
