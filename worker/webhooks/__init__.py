"""Webhooks out: events about deliveries, replies and accounts, written to an outbox in the
same transaction as the change they describe, then signed (Standard Webhooks) and delivered by
the workers, at least once, through the due-time index."""
