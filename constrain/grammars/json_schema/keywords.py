"""The draft 2020-12 keywords by role."""

ANNOTATIONS = frozenset({
    "$schema", "$id", "$anchor", "$dynamicAnchor", "$comment", "$defs", "definitions", "$vocabulary",
    "title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly",
    "contentEncoding", "contentMediaType", "contentSchema", "discriminator",
})
REFERENCES = ("$ref", "$dynamicRef")
JSON_TYPES = ("null", "boolean", "object", "array", "string", "number", "integer")
