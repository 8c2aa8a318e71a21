"""Every write path of the core: ``do_<verb>_<noun>(…, *, actor)`` functions."""
