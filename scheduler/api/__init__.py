"""The HTTP API (`outreach api`): routes under /v1, the live page at /, keys and problems."""
