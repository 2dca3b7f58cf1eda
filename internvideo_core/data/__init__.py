"""data layer of the InternVideo kit."""
