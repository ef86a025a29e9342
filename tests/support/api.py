"""The test app's config (`make_config`, the shared `PASSWORD` and `SECRETS`) and `login`, which
signs in through a test client and returns the Authorization header."""

PASSWORD = "correct horse battery staple"
SECRETS = {"SECRET_KEY": "s" * 64, "JWT_SECRET_KEY": "j" * 64}


def make_config(database_url: str, tmp_path, **overrides) -> dict:
    return {
        "TESTING": True,
        "ENV_MODE": "testing",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "UPLOAD_FOLDER": str(tmp_path / "uploads"),
        "BCRYPT_ROUNDS": 4,  # production uses 12; tests only
        "S3_BUCKET": None,
        **SECRETS,
        **overrides,
    }


def login(client, username, password=PASSWORD) -> dict:
    """Sign in with a Bearer token; returns the Authorization header."""
    response = client.post("/api/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}
