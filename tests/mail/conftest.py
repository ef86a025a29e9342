"""Mail tests: an app whose mail goes to a real SMTP server on a loopback port."""

import pytest

from support.mail import smtp_config


@pytest.fixture
def app_config(app_config, smtp, tmp_path):
    return smtp_config(app_config, smtp, tmp_path)
