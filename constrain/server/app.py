"""An OpenAI-compatible HTTP API over one Llama (FastAPI; uvicorn serves it).

Routes: GET /v1/models, POST /v1/completions, POST /v1/chat/completions (both with
`stream` as server-sent events), POST /v1/tokenize, GET /health. Each request gets a KV
slot of its own; up to the model's n_seq_max (`constrain serve --parallel B`) are decoded
together in one pass over the weights per token, later ones wait for a free slot. A client
that disconnects mid-stream stops its generation at the next token and frees its slot. Bad
requests get OpenAI's error body ({"error": {"message", "type", "param", "code"}}) with a 4xx
status; an unexpected failure a 500 without a traceback.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import threading
import time

from constrain.errors import ConstrainError
from constrain.server.requests import ChatRequest, CompletionRequest, TokenizeRequest

log = logging.getLogger("constrain.server")


def _require_server_packages():
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise ImportError("the server needs FastAPI and uvicorn: pip install 'constrain[server]'") from exc


def _error(status: int, message: str, kind: str = "invalid_request_error", param: str | None = None):
    from fastapi.responses import JSONResponse

    return JSONResponse(status_code=status,
                        content={"error": {"message": message, "type": kind, "param": param, "code": None}})


class _Turns:
    """Runs each request's generation off the event loop on a KV slot of its own; up to the
    model's n_seq_max requests are decoded together (generation/batching.py), later ones wait
    for a slot."""

    def __init__(self, llm):
        from constrain.generation.batching import SequenceBatcher

        self.batcher = SequenceBatcher(llm)

    async def whole(self, method: str, kwargs: dict):
        def work():
            with self.batcher.sequence() as view:
                return getattr(view, method)(**kwargs)

        return await asyncio.to_thread(work)

    async def stream(self, method: str, kwargs: dict):
        """(first chunk, async iterator of the rest): the first is computed before the
        response starts, so a request that fails at once still gets a 4xx status."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()
        cancelled = threading.Event()
        done = object()

        def send(item) -> bool:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
                return True
            except RuntimeError:  # the event loop is gone (server shutting down): nobody listens
                return False

        def produce():
            with self.batcher.sequence() as view:
                try:
                    for chunk in getattr(view, method)(**kwargs):
                        if not send(chunk) or cancelled.is_set():
                            break
                except BaseException as exc:  # handed to the consumer, which reports it
                    send(exc)
                finally:
                    send(done)

        threading.Thread(target=produce, name="constrain-generation", daemon=True).start()
        first = await queue.get()
        if isinstance(first, BaseException):
            raise first
        if first is done:  # a generator that yielded nothing
            raise RuntimeError("the generation produced no chunk")

        async def rest():
            try:
                while True:
                    item = await queue.get()
                    if item is done:
                        return
                    if isinstance(item, BaseException):
                        log.error("generation failed mid-stream: %s: %s", type(item).__name__, item)
                        yield {"error": {"message": f"generation failed: {type(item).__name__}",
                                         "type": "server_error", "param": None, "code": None}}
                        return
                    yield item
            finally:
                cancelled.set()  # the client went away (or the stream ended): stop generating

        return first, rest()


def _sse(first, rest, include_usage: bool):
    """Server-sent events of the chunks; the generation's token counts ride on its last chunk
    and go out as OpenAI sends them: a chunk of their own, with no choices, when asked for."""

    def event(chunk) -> list[str]:
        usage = chunk.pop("usage", None) if isinstance(chunk, dict) else None
        out = [f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"]
        if usage is not None and include_usage:
            tail = {key: chunk[key] for key in ("id", "object", "created", "model") if key in chunk}
            out.append(f"data: {json.dumps({**tail, 'choices': [], 'usage': usage})}\n\n")
        return out

    async def events():
        for line in event(first):
            yield line
        async for chunk in rest:
            for line in event(chunk):
                yield line
        yield "data: [DONE]\n\n"

    return events()


def create_app(llm, model_name: str | None = None):
    """The FastAPI application serving `llm` (a constrain.Llama)."""
    _require_server_packages()
    from fastapi import FastAPI
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import StreamingResponse
    from starlette.exceptions import HTTPException as StarletteHTTPException

    name = model_name or getattr(llm, "model_name", "model")
    turns = _Turns(llm)
    started = int(time.time())
    app = FastAPI(title="constrain", summary="OpenAI-compatible API over a local GGUF model")

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or None
        return _error(400, f"{where or 'request'}: {first.get('msg', 'invalid request')}", param=where)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request, exc: StarletteHTTPException):
        kind = "not_found_error" if exc.status_code == 404 else "invalid_request_error"
        return _error(exc.status_code, str(exc.detail), kind)

    @app.exception_handler(Exception)
    async def _unexpected(_request, exc: Exception):
        log.exception("request failed")
        return _error(500, f"internal error: {type(exc).__name__}", "server_error")

    def _check_model(requested: str | None):
        if requested not in (None, "", name):
            from fastapi import HTTPException

            raise HTTPException(404, f"model {requested!r} is not served here; this server has {name!r}")

    async def _run(method: str, kwargs: dict, stream: bool, include_usage: bool = False):
        try:
            if stream:
                first, rest = await turns.stream(method, kwargs)
                return StreamingResponse(_sse(first, rest, include_usage), media_type="text/event-stream")
            return await turns.whole(method, kwargs)
        except (ConstrainError, ValueError, TypeError) as exc:
            return _error(400, str(exc))

    @app.get("/health")
    async def health():
        busy, waiting = turns.batcher.load()
        return {"status": "ok", "model": name, "slots_idle": turns.batcher.n_slots - busy, "slots_processing": busy,
                "requests_waiting": waiting}

    @app.get("/v1/models")
    async def models():
        return {"object": "list",
                "data": [{"id": name, "object": "model", "created": started, "owned_by": "constrain"}]}

    async def _answer(body, method: str):
        _check_model(body.model)
        try:
            kwargs = body.kwargs()
        except ValueError as exc:
            return _error(400, str(exc))
        return await _run(method, kwargs, body.stream, body.include_usage)

    @app.post("/v1/completions")
    async def completions(body: CompletionRequest):
        return await _answer(body, "create_completion")

    @app.post("/v1/chat/completions")
    async def chat(body: ChatRequest):
        return await _answer(body, "create_chat_completion")

    @app.post("/v1/tokenize")
    async def tokenize(body: TokenizeRequest):
        try:
            ids = llm.tokenize(body.input.encode("utf-8"), add_bos=body.add_bos, special=body.special)
        except (ConstrainError, ValueError, UnicodeError) as exc:
            return _error(400, str(exc))
        return {"tokens": [int(t) for t in ids], "count": len(ids)}

    return app


def serve(llm, host: str = "127.0.0.1", port: int = 8000, model_name: str | None = None) -> None:
    _require_server_packages()
    import uvicorn

    app = create_app(llm, model_name)
    # The start-up heap (numba's and the model's ~10^5 long-lived objects) leaves the garbage
    # collector's reach: a full collection walked it in 50-140 ms inside whatever request ran.
    gc.collect()
    gc.freeze()
    uvicorn.run(app, host=host, port=port, log_level="info")
