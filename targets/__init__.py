"""Systems under test. The runner never imports this package; pods run its modules."""
