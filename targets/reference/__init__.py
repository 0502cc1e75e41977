"""The reference pipeline: Redis Streams broker, saga consumers, three services."""
