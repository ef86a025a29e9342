"""Composing messages: a subject and paragraphs become a plain-text and an HTML body, signed
with the firm's name, with links to pages of the site under PUBLIC_URL.

Each kind of message gets one small function (e.g. `invitation(user, token)`) that calls
`compose`; everything given to `compose` is plain text and is escaped for the HTML part here.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from urllib.parse import quote

from flask import current_app


@dataclass(frozen=True)
class Link:
    """A button-like link: `path` is a page of the site (e.g. "/frontend/reset.html"); `token`,
    when given, goes in the URL fragment (#token=…) so it never reaches a server log or a Referer."""

    label: str
    path: str
    token: str | None = None

    @property
    def url(self) -> str:
        return site_url(self.path, self.token)


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    html: str


def site_url(path: str = "/", token: str | None = None) -> str:
    if not path.startswith("/"):
        raise ValueError("a link's path starts with /")
    url = current_app.config["PUBLIC_URL"] + quote(path, safe="/.-_~")
    return f"{url}#token={quote(token, safe='')}" if token else url


def compose(subject: str, blocks: list[str | Link], *, greeting: str | None = None) -> Message:
    """`blocks` are paragraphs (plain text) and Links, in order. `greeting` names the recipient
    ("Dear Ann Smith,"); without it the message starts "Hello,"."""
    if "\n" in subject or "\r" in subject:
        raise ValueError("a subject is one line")
    firm = current_app.config["FIRM_NAME"]
    opening = f"Dear {greeting}," if greeting else "Hello,"
    closing = f"{firm}"
    footer = f"This message was sent by {firm}'s client portal ({current_app.config['PUBLIC_URL']})."

    text_parts = [opening]
    html_parts = [f"<p>{html.escape(opening)}</p>"]
    for block in blocks:
        if isinstance(block, Link):
            text_parts.append(f"{block.label}:\n{block.url}")
            html_parts.append(
                f'<p><a href="{html.escape(block.url, quote=True)}" style="{BUTTON_STYLE}">'
                f"{html.escape(block.label)}</a></p>"
                f'<p style="font-size:12px;color:#555">{html.escape(block.url)}</p>'
            )
        else:
            text_parts.append(block)
            html_parts.append("<p>" + html.escape(block).replace("\n", "<br>\n") + "</p>")
    text_parts += [closing, "-- \n" + footer]
    html_parts += [f"<p>{html.escape(closing)}</p>", f'<p style="font-size:12px;color:#777">{html.escape(footer)}</p>']
    body = "\n".join(html_parts)
    return Message(
        subject=subject,
        text="\n\n".join(text_parts) + "\n",
        html=(
            f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{html.escape(subject)}</title></head>\n'
            f'<body style="font-family:Arial,Helvetica,sans-serif;color:#222;max-width:600px">\n{body}\n'
            "</body></html>\n"
        ),
    )


BUTTON_STYLE = (
    "display:inline-block;padding:10px 18px;background:#1f4e3d;color:#ffffff;text-decoration:none;border-radius:4px"
)


# --- one function per kind -----------------------------------------------------------------


def mail_test() -> Message:
    """`flask mail test`: proves the settings work end to end."""
    firm = current_app.config["FIRM_NAME"]
    return compose(
        f"{firm}: test message",
        [
            "This is a test message from the client portal. If you can read it, outgoing mail works.",
            Link("Open the portal", "/"),
        ],
    )


def _name(user) -> str | None:
    return user.full_name or None


def invitation(user, token: str, hours: int) -> Message:
    firm = current_app.config["FIRM_NAME"]
    return compose(
        f"Your invitation to the {firm} client portal",
        [
            f"An account has been opened for you on the {firm} client portal (user name: {user.username}). "
            "Choose your password to sign in and see your documents.",
            Link("Choose your password", "/frontend/set-password.html", token=token),
            f"The link works once, for {hours} hours. If it has expired, ask us for a new invitation.",
        ],
        greeting=_name(user),
    )


def password_reset(user, token: str, minutes: int) -> Message:
    firm = current_app.config["FIRM_NAME"]
    return compose(
        f"Reset your {firm} portal password",
        [
            "Someone (we hope you) asked to reset the password of your client portal account "
            f"(user name: {user.username}).",
            Link("Choose a new password", "/frontend/set-password.html", token=token),
            f"The link works once, for {minutes} minutes. If you did not ask for it, ignore this message: "
            "your password stays as it is.",
        ],
        greeting=_name(user),
    )


def password_changed(user) -> Message:
    firm = current_app.config["FIRM_NAME"]
    return compose(
        f"Your {firm} portal password was changed",
        [
            f"The password of your client portal account (user name: {user.username}) was just changed, "
            "and every session signed in before has been ended.",
            f"If this was not you, contact {firm} at once and choose a new password:",
            Link("Reset your password", "/frontend/forgot.html"),
        ],
        greeting=_name(user),
    )


def new_documents(user, titles: list[str]) -> Message:
    firm = current_app.config["FIRM_NAME"]
    count = len(titles)
    subject = f"A new document on the {firm} portal" if count == 1 else f"{count} new documents on the {firm} portal"
    listing = "\n".join(f"- {title}" for title in titles)
    return compose(
        subject,
        [
            "New documents are waiting for you on the client portal:",
            listing,
            Link("Open the portal", "/frontend/documents.html"),
            "You can turn these notices off in the portal's settings.",
        ],
        greeting=_name(user),
    )


def reminder(user, title: str) -> Message:
    """An admin's nudge to open a document: its title and the portal, never the file."""
    return compose(
        f"Reminder: “{title}” is waiting for you",
        [
            f"A document is waiting for you in the client portal: {title}.",
            "Sign in to read it.",
            Link("Open the portal", "/frontend/documents.html"),
        ],
        greeting=_name(user),
    )


def mfa_reset(user) -> Message:
    """An admin removed the user's second factors: they sign in with the password and enrol again."""
    return compose(
        "Your two-step verification was reset",
        [
            "An administrator of the client portal has turned off two-step verification for your account "
            "(authenticator app, recovery codes and passkeys).",
            "You can now sign in with your password alone; set up two-step verification again on the Security page.",
            Link("Open the Security page", "/frontend/security.html"),
            "If you did not ask for this, contact the firm at once.",
        ],
        greeting=_name(user),
    )
