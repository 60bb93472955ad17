"""Pictures (the ``draw`` extra)."""
