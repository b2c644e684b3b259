# SPDX-License-Identifier: MIT
"""A TCP proxy that adds a fixed delay in each direction (half the round trip each way), for
benchmarks: kernel traffic shaping is not available on these machines. Bytes are forwarded in
order, each chunk released `delay` after it arrived. Without a link rate, bandwidth is not
limited, only latency (and the proxy's own CPU, one Python thread, caps it near 1 GB/s). With
`link_mib_s`, server-to-client bytes also queue for one link of that rate shared by all
connections, as on a real WAN link, and the proxy reads no further ahead than the link can
carry in a round trip or so, so TCP flow control reaches the server as it would there."""
import asyncio
import threading
import time

MIB = 1024 * 1024


class LatencyProxy:
    def __init__(self, upstream_port, rtt_ms, link_mib_s=None):
        self.upstream_port = upstream_port
        self.delay = rtt_ms / 2000.0
        self.rate = link_mib_s * MIB if link_mib_s else None
        self.link_free_at = 0.0  # When the shared downlink has sent everything queued on it.
        self.port = None
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    async def pump(self, reader, writer, downlink):
        limited = downlink and self.rate is not None
        chunk = 64 * 1024 if limited else 256 * 1024
        # Limited: hold about two round trips of the link per connection (and at least 1 MiB).
        depth = max(16, int(2 * self.rate * 2 * self.delay / chunk)) if limited else 0
        queue = asyncio.Queue(maxsize=depth)

        async def release():
            try:
                while True:
                    due, data = await queue.get()
                    if data is None:
                        break
                    wait = due - time.monotonic()
                    if wait > 0:
                        await asyncio.sleep(wait)
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, OSError):
                pass  # The peer hung up (an aborted request, an unmount).
            writer.close()

        sender = asyncio.ensure_future(release())
        try:
            while True:
                data = await reader.read(chunk)
                if not data:
                    break
                now = time.monotonic()
                due = now + self.delay
                if limited:
                    self.link_free_at = max(now, self.link_free_at) + len(data) / self.rate
                    due = self.link_free_at + self.delay
                await queue.put((due, data))
        except ConnectionError:
            pass
        await queue.put((0, None))
        try:
            await sender
        except ConnectionError:
            pass

    async def handle(self, client_reader, client_writer):
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            client_writer.close()
            return
        try:
            await asyncio.gather(self.pump(client_reader, up_writer, downlink=False),
                                 self.pump(up_reader, client_writer, downlink=True))
        except (ConnectionError, OSError):
            pass  # A peer hung up mid-transfer (an aborted request, an unmount): not our error.

    def start(self):
        self.thread.start()
        server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self.handle, "127.0.0.1", 0), self.loop).result()
        self.server = server
        self.port = server.sockets[0].getsockname()[1]
        return self

    def stop(self):
        async def shutdown():
            self.server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
