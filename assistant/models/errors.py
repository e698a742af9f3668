"""Why a model download failed, each with a message a person can act on.

    LoremindError
     └── DownloadError          a model could not be downloaded
          ├── OfflineError         the hub can't be reached at all (no network, no server)
          ├── ConnectionLostError  the connection broke mid-download (the part is kept: resumable)
          ├── TokenRequiredError   401: a gated or private model and no token (or a wrong one)
          ├── AccessDeniedError    403: the token's account has not been granted access
          ├── RemoteFileMissingError  404: the repository or file is not on the hub
          ├── ChecksumError        the file does not match the hub's sha256 (the part is removed)
          └── DiskFullError        not enough free space, before or during the download

A cancelled download is not an error: ``ModelManager.pull`` returns ``None`` for it.
"""

from __future__ import annotations

from assistant.errors import LoremindError


class DownloadError(LoremindError):
    """A model could not be downloaded."""

    kind = "download"


class OfflineError(DownloadError):
    """The hub could not be reached."""

    kind = "offline"


class ConnectionLostError(DownloadError):
    """The connection broke during the download; what arrived is kept for a resume."""

    kind = "connection_lost"


class TokenRequiredError(DownloadError):
    """The file needs a Hugging Face token (gated or private), or the token was refused."""

    kind = "token_required"


class AccessDeniedError(DownloadError):
    """The token is valid but its account may not download this model."""

    kind = "access_denied"


class RemoteFileMissingError(DownloadError):
    """The repository, revision or file is not on the hub."""

    kind = "not_found"


class ChecksumError(DownloadError):
    """The downloaded bytes do not match the checksum the hub published."""

    kind = "checksum"


class DiskFullError(DownloadError):
    """There is not enough free disk space for the model."""

    kind = "disk_full"


ERROR_KINDS: dict[str, type[DownloadError]] = {
    cls.kind: cls for cls in (DownloadError, OfflineError, ConnectionLostError, TokenRequiredError,
                              AccessDeniedError, RemoteFileMissingError, ChecksumError,
                              DiskFullError)
}
