"""Use cases: each takes the acting user and the inputs, checks permission through the
domain rules, changes the database in one transaction and records the timeline event."""
