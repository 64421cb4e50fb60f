"""A FileSystemStorage whose writes appear whole or not at all.

Django's FileSystemStorage writes straight into the final name, so a reader
that opens the file meanwhile sees half of it; and when the name is taken it
saves under another one. Neither suits a content-addressed store: the name *is*
the content. This backend writes to a hidden temporary file beside the target,
flushes it to disk and renames it into place, which POSIX makes atomic. S3 and
its kin need no such care (an object becomes visible only when its upload is
complete), so switching STORAGES["content"] to one is a settings change.
"""

import contextlib
import os
import tempfile

from django.core.files.storage import FileSystemStorage

# The mode a file gets when FILE_UPLOAD_PERMISSIONS says nothing: readable by
# all, as a plain write under the usual umask would leave it (mkstemp's 0600
# would hide it from a processing worker running as another user).
DEFAULT_FILE_MODE = 0o644


class AtomicFileSystemStorage(FileSystemStorage):
    """Write under a temporary name, then rename; never save under another name."""

    def get_available_name(self, name, max_length=None):
        # Same name, same bytes: overwriting is harmless, another name would
        # be a second copy nobody can find.
        return name

    def _save(self, name, content):
        full_path = self.path(name)
        directory = os.path.dirname(full_path)
        os.makedirs(directory, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(
            dir=directory, prefix=".", suffix=".part"
        )
        try:
            with os.fdopen(descriptor, "wb") as target:
                for chunk in content.chunks():
                    target.write(chunk)
                target.flush()
                os.fsync(target.fileno())
            os.chmod(temporary, self.file_permissions_mode or DEFAULT_FILE_MODE)
            os.replace(temporary, full_path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        return name
