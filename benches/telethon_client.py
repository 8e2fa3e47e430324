"""One Telethon client, as the per-tenant Python bot of the old plan would hold it.

Connects with a StringSession (argv[1]) to the datacenter the string names, signs in by
that key, counts every new message it is sent, and sits. Prints "ready <user id>" once
signed in; answers each "count" line on stdin with the number of messages seen so far.
"""

import asyncio
import sys

from telethon import TelegramClient, events
from telethon.sessions import StringSession

API_ID = 11
API_HASH = "0123456789abcdef0123456789abcdef"


async def main() -> None:
    client = TelegramClient(StringSession(sys.argv[1]), API_ID, API_HASH)
    seen = 0

    @client.on(events.NewMessage)
    async def on_message(_event) -> None:
        nonlocal seen
        seen += 1

    await client.connect()
    me = await client.get_me()
    if me is None:
        print("not signed in", flush=True)
        return
    print(f"ready {me.id}", flush=True)

    # stdin through the event loop: no reader thread, so nothing extra in the measurement.
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        if line.strip() == b"count":
            print(seen, flush=True)
    await client.disconnect()


asyncio.run(main())
