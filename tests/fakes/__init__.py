"""Fakes of outside services that speak their real wire formats, for tests through real SDKs."""
