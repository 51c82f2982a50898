"""Who may use the API: tokens (created with the CLI, stored hashed) and roles (R10)."""
