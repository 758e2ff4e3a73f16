"""The operators' session cookie on its own (in process): signed with the token, not the
token, expiring, and void when the token changes."""

from __future__ import annotations

import time

from gateway.ops.auth import SESSION_SECONDS, new_session, session_nonce


def test_session_cookie_is_signed_and_expires() -> None:
    now = time.time()
    cookie = new_session("token-1", now)
    assert "token-1" not in cookie
    nonce = session_nonce("token-1", cookie, now + 60)
    assert nonce is not None and nonce in cookie
    assert session_nonce("token-1", cookie, now + SESSION_SECONDS + 1) is None  # expired
    assert session_nonce("token-1", cookie, now - 3600) is None  # issued in the future
    assert session_nonce("token-2", cookie, now) is None  # the token changed
    issued, nonce_part, mac = cookie.split(".")
    assert session_nonce("token-1", f"{int(issued) + 1}.{nonce_part}.{mac}", now) is None  # tampered
    assert session_nonce("token-1", "", now) is None
    assert session_nonce("token-1", "a.b.c", now) is None
    assert session_nonce("token-1", f"{issued}.{nonce_part}.é{mac[1:]}", now) is None  # not ASCII
    assert session_nonce("token-1", f"²{issued}.{nonce_part}.{mac}", now) is None
    assert new_session("token-1", now) != cookie  # a fresh nonce each time
