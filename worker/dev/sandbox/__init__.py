"""A local stand-in for LinkUp, ConnectSafely and OutX: the documented paths, request and answer
shapes and errors, plus a record of what it received and faults injected on demand.

It is written from the providers' documentation, not from the adapters, so the adapters' tests
against it check one reading of the docs against another.
"""
