"""Sessions: fresh on login, ended everywhere by a password change."""
from ..conftest import COORDINATOR_PASSWORD, Auth, csrf_token_from


def test_session_is_rotated_on_login(client, auth, coalition):
    client.get("/panel/logowanie")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    auth.login()
    with client.session_transaction() as session:
        assert "planted" not in session
        assert "_user_id" in session


def test_password_change_logs_out_other_sessions(app, client, auth, coalition):
    other_device = app.test_client()
    Auth(other_device).login()
    assert other_device.get("/panel/podpisy").status_code == 200

    auth.login()
    page = client.get("/panel/haslo")
    response = client.post(
        "/panel/haslo",
        data={
            "csrf_token": csrf_token_from(page),
            "current_password": COORDINATOR_PASSWORD,
            "new_password": "nowe-dlugie-haslo",
            "repeat_password": "nowe-dlugie-haslo",
        },
    )
    assert response.status_code == 303
    assert client.get("/panel/podpisy").status_code == 200  # this browser stays in
    assert other_device.get("/panel/podpisy").status_code == 302  # the other one is out
    assert Auth(app.test_client()).login(password="nowe-dlugie-haslo").status_code == 303


def test_password_change_needs_the_current_password(client, auth, coalition):
    auth.login()
    page = client.get("/panel/haslo")
    response = client.post(
        "/panel/haslo",
        data={"csrf_token": csrf_token_from(page), "current_password": "zgadywane", "new_password": "x" * 12, "repeat_password": "x" * 12},
    )
    assert response.status_code == 422
    assert "Obecne hasło jest nieprawidłowe." in response.get_data(as_text=True)
