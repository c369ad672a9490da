"""Hub administration API: sites, accounts, reader coverage, API keys."""
