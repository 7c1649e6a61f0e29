"""OAuth2 client credentials (RFC 6749 section 4.4) against the hub's token endpoint, with urllib only."""

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Callable, Optional

from .errors import TokenError


class ClientCredentials:
    """Trades a member's client id and secret for access tokens and refreshes them before they expire.

    Thread-safe: one instance serves every call of a client, streams included. A token is reused until
    ``refresh_margin`` seconds (at most a fifth of its lifetime) before its expiry, then a new one is fetched,
    so a call never leaves with a token that is about to lapse on the way.
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        scope: Optional[str] = None,
        refresh_margin: float = 60.0,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self._client_secret = client_secret
        self._scope = scope
        self._refresh_margin = refresh_margin
        self._timeout = timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._token: Optional[str] = None
        self._refresh_at = 0.0
        self.fetches = 0  # how many tokens were fetched; tests and metrics read it

    def token(self) -> str:
        """Returns a valid access token, fetching a new one when none is held or the held one is due."""
        with self._lock:
            if self._token is None or self._clock() >= self._refresh_at:
                self._fetch()
            assert self._token is not None
            return self._token

    def invalidate(self) -> None:
        """Drops the held token, for example after the hub answered Unauthenticated."""
        with self._lock:
            self._token = None

    def _fetch(self) -> None:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._client_secret,
        }
        if self._scope:
            form["scope"] = self._scope
        request = urllib.request.Request(
            self.token_url,
            data=urllib.parse.urlencode(form).encode("ascii"),
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
            method="POST",
        )
        started = self._clock()
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                body = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as e:
            # RFC 6749 section 5.2: the error and its description come as JSON in the body.
            try:
                error = json.loads(e.read().decode("utf-8"))
            except ValueError:
                error = {}
            raise TokenError(
                error.get("error", f"http_{e.code}"),
                error.get("error_description", e.reason if isinstance(e.reason, str) else ""),
            ) from e
        except urllib.error.URLError as e:
            raise TokenError("unreachable", f"{self.token_url}: {e.reason}") from e
        token = body.get("access_token")
        if not token:
            raise TokenError("invalid_response", "the token endpoint answered without an access_token")
        lifetime = float(body.get("expires_in", 300))
        # Counted from when the request left: the hub's clock started the lifetime no earlier than that.
        self._refresh_at = started + lifetime - min(self._refresh_margin, lifetime / 5)
        self._token = token
        self.fetches += 1
