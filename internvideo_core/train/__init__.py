"""train layer of the InternVideo kit."""
