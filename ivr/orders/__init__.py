"""Work orders (首问负责制, SPEC R6) and their hand-off to departments (the outbox)."""
