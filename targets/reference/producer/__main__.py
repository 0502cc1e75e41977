"""`python -m targets.reference.producer`: run the producer pod."""

from targets.reference.producer.app import main

main()
