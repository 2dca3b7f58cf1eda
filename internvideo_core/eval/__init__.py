"""eval layer of the InternVideo kit."""
