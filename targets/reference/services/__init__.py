"""Downstream services of the reference saga: inventory, payment (HTTPS), points."""
