"""Mail tests: an app whose mail goes to a real SMTP server on a loopback port."""
import pytest

from .smtp_server import SmtpServer


@pytest.fixture
def smtp():
    with SmtpServer() as server:
        yield server


@pytest.fixture
def app_config(app_config, smtp, tmp_path):
    return {**app_config, **smtp.settings(), "MAIL_DIR": str(tmp_path / "mail")}
