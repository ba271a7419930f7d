"""The baseline of `cobrowse_ack.py`: a bare slack-bolt AsyncApp on aiohttp whose `/cobrowse` handler only acks."""

from __future__ import annotations

import argparse

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient


def build(signing_secret: str, token: str, slack_url: str) -> web.Application:
    bolt = AsyncApp(signing_secret=signing_secret, client=AsyncWebClient(token=token, base_url=slack_url))

    @bolt.command("/cobrowse")
    async def only_ack(ack: AsyncAck) -> None:
        await ack()

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/slack/events", events)
    app.router.add_get("/healthz", healthz)
    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--signing-secret", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--slack-url", required=True)
    args = parser.parse_args()
    web.run_app(
        build(args.signing_secret, args.token, args.slack_url),
        host="127.0.0.1",
        port=args.port,
        print=None,
        access_log=None,
    )
