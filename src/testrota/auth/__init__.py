"""Web users: roles, argon2 passwords, sign-in throttling and department scoping."""
