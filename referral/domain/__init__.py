"""Pure domain rules: no Flask, no database session. Unit-tested in milliseconds."""
