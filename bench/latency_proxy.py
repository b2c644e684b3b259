# SPDX-License-Identifier: MIT
"""A TCP proxy that adds a fixed delay in each direction (half the round trip each way), for
benchmarks: kernel traffic shaping is not available on these machines. Bytes are forwarded in
order, each chunk released `delay` after it arrived, so bandwidth is not limited, only latency."""
import asyncio
import threading
import time


class LatencyProxy:
    def __init__(self, upstream_port, rtt_ms):
        self.upstream_port = upstream_port
        self.delay = rtt_ms / 2000.0
        self.port = None
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    async def pump(self, reader, writer):
        queue = asyncio.Queue()

        async def release():
            while True:
                due, data = await queue.get()
                if data is None:
                    break
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(data)
                await writer.drain()
            writer.close()

        sender = asyncio.ensure_future(release())
        try:
            while True:
                data = await reader.read(256 * 1024)
                if not data:
                    break
                await queue.put((time.monotonic() + self.delay, data))
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
        await asyncio.gather(self.pump(client_reader, up_writer), self.pump(up_reader, client_writer))

    def start(self):
        self.thread.start()
        server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self.handle, "127.0.0.1", 0), self.loop).result()
        self.server = server
        self.port = server.sockets[0].getsockname()[1]
        return self

    def stop(self):
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
