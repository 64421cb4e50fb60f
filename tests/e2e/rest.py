"""The REST calls the multi-process tests make as a client would: sign in, submit,
approve. One place, so each test shows only what it proves."""

import requests

DEMO_PASSWORD = "demo-password"
CREDITOR = {"name": "Bob's Bikes", "iban": "DE89370400440532013000"}


def token_headers(base: str, username: str) -> dict:
    """Sign a demo user in for a token; the headers that carry it."""
    response = requests.post(
        base + "/api/v1/auth/token",
        json={"username": username, "password": DEMO_PASSWORD},
        timeout=10,
    )
    response.raise_for_status()
    return {"Authorization": f"Token {response.json()['token']}"}


def first_account(base: str, headers: dict) -> dict:
    return requests.get(base + "/api/v1/accounts", headers=headers, timeout=10).json()[
        "results"
    ][0]


def payment_submit(
    base: str, headers: dict, account: dict, amount: int
) -> requests.Response:
    return requests.post(
        base + "/api/v1/payments",
        headers=headers,
        json={
            "debtor_account": account["id"],
            "amount": amount,
            "currency": account["currency"],
            "creditor": CREDITOR,
        },
        timeout=10,
    )


def payment_approve(base: str, headers: dict, payment_id: str) -> requests.Response:
    return requests.post(
        f"{base}/api/v1/payments/{payment_id}/approve", headers=headers, timeout=10
    )
