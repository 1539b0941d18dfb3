"""N plain SSE clients of the preview server in one process (for ``bench_preview.py``): each
trades the token for the cookie, reads ``/events`` and stamps the arrival of every ``ping``
event with the wall clock; the latest arrival of each ping is written to OUT as JSON.

Run: ``python bench/sse_clients.py URL N PINGS OUT``
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from urllib.parse import urlparse


async def client(host: str, port: int, query: str, last: int, arrivals: dict[int, float]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"GET /?{query} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    await writer.drain()
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    fields = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:])}
    cookie = fields["set-cookie"].split(";")[0]
    await reader.readexactly(int(fields.get("content-length", "0")))
    writer.write(
        f"GET /events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\n"
        "Accept: text/event-stream\r\n\r\n".encode()
    )
    await writer.drain()
    await reader.readuntil(b"\r\n\r\n")
    print("open", flush=True)
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("the server closed the stream")
        if line.startswith(b"data: "):
            event = json.loads(line[6:])
            if event["kind"] == "ping":
                i = int(event["data"]["i"])
                arrivals[i] = max(arrivals.get(i, 0.0), time.time() * 1000)
                if i == last:
                    writer.close()
                    return


async def main(url: str, n: int, pings: int, out: str) -> None:
    u = urlparse(url)
    assert u.hostname is not None and u.port is not None
    arrivals: dict[int, float] = {}
    await asyncio.wait_for(
        asyncio.gather(
            *(client(u.hostname, u.port, u.query, pings - 1, arrivals) for _ in range(n))
        ),
        120,
    )
    with open(out, "w", encoding="utf-8") as f:
        json.dump(arrivals, f)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]))
