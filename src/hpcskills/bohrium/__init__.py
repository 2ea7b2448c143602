"""bohrium."""
