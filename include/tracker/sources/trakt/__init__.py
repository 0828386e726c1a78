"""Trakt: the user's watch history (movies and episodes) and the OAuth device flow that authorises it."""

from tracker.sources.trakt.client import TraktClient
from tracker.sources.trakt.device_flow import DeviceAuthDenied, DeviceCodeExpired, DeviceFlowError
from tracker.sources.trakt.models import DeviceCode, TraktToken, Watch
from tracker.sources.trakt.tokens import TokenStore

__all__ = ["DeviceAuthDenied", "DeviceCode", "DeviceCodeExpired", "DeviceFlowError", "TokenStore", "TraktClient",
           "TraktToken", "Watch"]
