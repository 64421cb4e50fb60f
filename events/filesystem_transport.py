"""The embedded broker's transport: kombu's filesystem transport, minus a race.

kombu writes a message file in place, and a consumer in another process may
move and read it before the writer has written it: the reader gets an empty
file, fails to decode it, and the worker stops (seen in the demo once the
settlement loop made traffic busier). Here a message is written under a name
no reader looks at (it does not end in `.<queue>.msg`), then renamed into
place, which is atomic: a reader sees a whole message or none. Registered as
the `filesystem` transport in events/apps.py, so `filesystem://` URLs use it.
"""

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = os.path.join(self.data_folder_out, f".partial-{uuid.uuid4()}")
        try:
            with open(partial, "wb") as out:
                out.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel


def register() -> None:
    """Make `filesystem://` mean this transport in this process."""
    from kombu.transport import TRANSPORT_ALIASES

    TRANSPORT_ALIASES["filesystem"] = "events.filesystem_transport:Transport"
