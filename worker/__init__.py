"""The sending half of outreach: provider adapters, pacing, Celery tasks and the delivery store.

Nothing here imports from `scheduler`; the scheduler builds on this package, never the reverse.
"""
