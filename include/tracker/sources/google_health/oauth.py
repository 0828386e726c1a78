"""OAuth 2.0 for the Google Health API — the old single module, now two (names re-exported here):
token_refresh.py (tokens, their stores and refresh: what Airflow tasks import) and sign_in.py (the
interactive PKCE sign-in: loopback listener, pasted codes)."""

from tracker.sources.google_health.sign_in import (  # noqa: F401
    LoopbackReceiver,
    authorize,
    code_from_paste,
    consent_url,
    pkce_pair,
)
from tracker.sources.google_health.token_refresh import (  # noqa: F401
    AUTH_URL,
    DEFAULT_SCOPES,
    REAUTH_COMMAND,
    SCOPE_PREFIX,
    TOKEN_URL,
    OAuthClient,
    OAuthError,
    ReauthRequired,
    TokenEndpoint,
    TokenProvider,
    Tokens,
    TokenStore,
    default_token_path,
)
