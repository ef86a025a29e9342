"""Outgoing e-mail through a durable outbox.

A flow composes a message (messages.py) and adds it to the outbox in its own transaction
(outbox.enqueue); the mail worker (worker.py, `flask mail worker`) sends it through the
configured backend (backends.py) and retries with back-off. Nothing here sends inside a request.
"""
