"""Toxiproxy-compatible fault proxy: HTTP API, TCP links, toxics, and a thin client."""
