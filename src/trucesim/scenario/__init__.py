"""Scenario files: the schema, the parameter table, the regime presets and the errors
that carry a location in a user's file."""
