"""Where a run's actions execute: the backends, and the one function that picks one.

Placeholder docstring, rewritten with the backend contract.
"""
