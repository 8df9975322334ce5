"""The development email backend: each message printed as a person would read it.

Django's console backend prints the message as it would travel over SMTP, where a line longer
than 78 characters (a password-reset link on a real domain) is quoted-printable encoded: the
link is cut by ``=`` soft breaks and cannot be copied. This backend prints the headers and then
every text part decoded, so links in development emails work as they will in a mail client.
"""

from __future__ import annotations

from typing import Any

from django.core.mail import EmailMessage
from django.core.mail.backends.console import EmailBackend

_HEADERS = ("Subject", "From", "To", "Cc", "Reply-To", "Date")


class ReadableConsoleBackend(EmailBackend):
    """Write each message to the console with its text parts decoded (no transfer encoding)."""

    def write_message(self, message: EmailMessage) -> None:
        msg: Any = message.message()
        lines = [f"{name}: {msg[name]}" for name in _HEADERS if msg[name]]
        for part in msg.walk():
            if part.get_content_maintype() != "text":
                continue
            lines += ["", f"[{part.get_content_type()}]", part.get_content().rstrip("\n")]
        self.stream.write("\n".join(lines) + "\n")
        self.stream.write("-" * 79 + "\n")
