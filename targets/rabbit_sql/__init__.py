"""A second example pipeline: RabbitMQ -> consumer -> PostgreSQL (docs/own-pipeline.md).

It shares no code with targets/reference, so the checkers are shown judging a system they
were not written with.
"""
