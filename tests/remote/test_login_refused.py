"""A refused login says what the server offers and, for root by password, that the password
may be right (sshd's PermitRootLogin) instead of only blaming it."""

from __future__ import annotations

from pmc.remote.errors import login_refused

STORE = "Store the correct password for this server in PMC (Server > Access, …)"


def test_no_passwords_offered() -> None:
    assert login_refused("operator", "password", ["publickey"], STORE) == (
        "the server does not accept passwords for 'operator' (it offers: publickey)",
        'Log in with a key (auth = "key" and key_file in the inventory)',
    )


def test_root_by_password_may_be_refused_by_permit_root_login() -> None:
    what, hint = login_refused("root", "password", ["publickey", "password"], STORE)
    assert (
        what
        == "the server refused the login of 'root' by password (it offers: publickey, password)"
    )
    assert hint.startswith("The password may be right: sshd refuses root's password when")
    assert hint.endswith("otherwise: store the correct password for this server in PMC"
                         " (Server > Access, …)")  # fmt: skip


def test_other_users_and_methods_keep_the_plain_sentence() -> None:
    assert login_refused("operator", "password", [], STORE) == (
        "the server refused the login of 'operator' by password",
        STORE,
    )
    assert login_refused("root", "key", ["publickey"], "Check the key") == (
        "the server refused the login of 'root' by key (it offers: publickey)",
        "Check the key",
    )
