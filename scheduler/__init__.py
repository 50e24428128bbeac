"""The deciding half of outreach: campaigns, sequences, the due-time pump and the producer API.

It builds on `worker`; `worker` never imports from here.
"""
