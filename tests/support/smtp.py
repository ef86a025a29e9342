"""A real SMTP server for the mail tests: aiosmtpd on a free loopback port, whose answer to DATA
can be switched (accept, refuse with a code, or hold the message a while)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
from collections import Counter

from aiosmtpd.controller import Controller

from support.common import free_port


class Recorder:
    """aiosmtpd handler: keeps every accepted message; `refuse` = "451 …" makes DATA fail."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse: str | None = None
        self.delay = 0.0
        self.receiving = threading.Event()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return self.refuse
        self.receiving.set()
        if self.delay:
            # A client that dies meanwhile cancels this coroutine: the message is not delivered.
            await asyncio.sleep(self.delay)
        with self.lock:
            self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"

    def deliveries(self) -> Counter:
        """How many times each Message-ID was accepted."""
        with self.lock:
            return Counter(m["Message-ID"] for m in self.messages)


class SmtpServer:
    def __init__(self):
        self.handler = Recorder()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

    def settings(self) -> dict:
        """The app's config for this server."""
        return {
            "MAIL_BACKEND": "smtp",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": self.port,
            "SMTP_SECURITY": "none",
            "SMTP_USERNAME": None,
            "SMTP_TIMEOUT": 5.0,
            "MAIL_FROM": "portal@firm.example",
            "FIRM_NAME": "Acme Capital",
            "PUBLIC_URL": "https://portal.firm.example",
        }

    def env(self) -> dict:
        """The same as environment variables (a worker subprocess)."""
        return {
            "MAIL_BACKEND": "smtp",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(self.port),
            "SMTP_SECURITY": "none",
            "SMTP_TIMEOUT": "5",
            "MAIL_FROM": "portal@firm.example",
            "FIRM_NAME": "Acme Capital",
            "PUBLIC_URL": "https://portal.firm.example",
        }
