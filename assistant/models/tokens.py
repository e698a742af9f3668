"""The Hugging Face token for gated models, kept in the system keyring (never in config.toml)."""

from __future__ import annotations

from assistant.errors import ConfigError

KEYRING_SERVICE = "loremind"
KEYRING_USER = "huggingface-token"


def get_token() -> str | None:
    """The stored token, or None when there is none (or no keyring to ask)."""
    import keyring
    from keyring.errors import KeyringError

    try:
        return keyring.get_password(KEYRING_SERVICE, KEYRING_USER) or None
    except KeyringError:
        return None


def set_token(token: str) -> None:
    """Store ``token`` in the system keyring."""
    import keyring
    from keyring.errors import KeyringError

    token = token.strip()
    if not token:
        raise ConfigError("The token is empty. Copy it from https://huggingface.co/settings/tokens.")
    try:
        keyring.set_password(KEYRING_SERVICE, KEYRING_USER, token)
    except KeyringError as exc:
        raise ConfigError(f"The system keyring could not store the token ({exc}). Unlock or "
                          "set up a keyring (GNOME Keyring, KWallet) and try again.") from exc


def delete_token() -> bool:
    """Remove the stored token; False when there was none."""
    import keyring
    from keyring.errors import KeyringError, PasswordDeleteError

    try:
        keyring.delete_password(KEYRING_SERVICE, KEYRING_USER)
    except PasswordDeleteError:
        return False
    except KeyringError as exc:
        raise ConfigError(f"The system keyring could not remove the token ({exc}).") from exc
    return True
