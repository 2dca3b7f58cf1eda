"""models layer of the InternVideo kit."""
