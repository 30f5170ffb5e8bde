"""Sampling day: tubes, their members and what a tube's result means for each member."""
