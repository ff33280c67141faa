"""The exit statuses every command shares: an error, a usage mistake, a cancelled run (as shells count Ctrl-C)."""

EXIT_ERROR, EXIT_USAGE, EXIT_CANCELLED = 1, 2, 130
