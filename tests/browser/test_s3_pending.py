"""While S3 is unreachable, uploads still succeed and the admin console marks them as
waiting for S3 (and shows no such mark when S3 is not in use at all: see test_admin_upload)."""

import pytest

from support.common import free_port


@pytest.fixture
def app_config(app_config, monkeypatch):
    """S3 configured, but its endpoint refuses connections (nothing listens there)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")  # boto3 reads its credentials from the environment
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    return {**app_config, "S3_BUCKET": "sequoalpha-test", "S3_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"}


def test_upload_while_s3_is_down_is_marked_waiting_for_s3(open_page, admin_api, ui, tmp_path):
    pdf = tmp_path / "Statement_Q2_2026.pdf"
    pdf.write_bytes(ui.make_pdf(label="statement"))
    page, _watch = open_page()
    ui.sign_in(page, "boss", expect_url="**/frontend/admin.html*")
    page.goto("/frontend/admin.html")
    page.get_by_label("Choose PDF files to upload").set_input_files(str(pdf))
    page.get_by_role("button", name="Upload", exact=True).click()
    result = page.locator(".upload-item .upload-result--ok")
    result.wait_for()
    assert "waiting for S3" in result.inner_text()
    row = page.locator("#panel-documents tr", has_text="Statement Q2 2026")
    row.get_by_text("Waiting for S3").wait_for()
