"""sjtu."""
