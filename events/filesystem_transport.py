"""The embedded broker's transport: kombu's filesystem transport, minus two races.

kombu writes a message file in place, and a consumer in another process may
move and read it before the writer has written it: the reader gets an empty
file, fails to decode it, and the worker stops (seen in the demo once the
settlement loop made traffic busier). Here a message is written under a name
no reader looks at (it does not end in `.<queue>.msg`), then renamed into
place, which is atomic: a reader sees a whole message or none. The same holds
for an exchange's table of bindings: kombu creates the file empty, then locks
and fills it, and a process starting at the same time read it empty (seen when
the workers bound their queues to each type at once). Here it is created whole.
Unbinding also reaches the file, which kombu's leaves as it was.
Registered as the `filesystem` transport in events/apps.py, so `filesystem://`
URLs use it.
"""

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads


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

    def _table_create(self, file) -> None:
        """Create an exchange's table, empty, unless it exists: whole or not at all."""
        if file.exists():
            return
        self.control_folder.mkdir(exist_ok=True)
        partial = self.control_folder / f".partial-{uuid.uuid4()}"
        partial.write_bytes(b"[]")
        try:
            os.link(partial, file)  # fails if another process created it first
        except FileExistsError:
            pass
        finally:
            partial.unlink()

    def _queue_bind(self, exchange, routing_key, pattern, queue):
        self._table_create(self._exchange_file(exchange))
        super()._queue_bind(exchange, routing_key, pattern, queue)

    def queue_unbind(self, queue, exchange=None, routing_key="", arguments=None, **kw):
        super().queue_unbind(queue, exchange, routing_key, arguments, **kw)
        file = self._exchange_file(exchange)
        if not file.exists():
            return
        with file.open("rb+", buffering=0) as table:
            filesystem.lock(table, filesystem.LOCK_EX)
            try:
                rows = loads(bytes_to_str(table.read()))
                kept = [
                    row
                    for row in rows
                    if not (row[0] == routing_key and row[2] == queue)
                ]
                if len(kept) != len(rows):
                    table.seek(0)
                    table.truncate()
                    table.write(str_to_bytes(dumps(kept)))
            finally:
                filesystem.unlock(table)


class Transport(filesystem.Transport):
    Channel = Channel


def register() -> None:
    """Make `filesystem://` mean this transport in this process."""
    from kombu.transport import TRANSPORT_ALIASES

    TRANSPORT_ALIASES["filesystem"] = "events.filesystem_transport:Transport"
