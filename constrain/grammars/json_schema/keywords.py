"""The draft 2020-12 keywords by role."""

ANNOTATIONS = frozenset({
    "$schema", "$id", "$anchor", "$dynamicAnchor", "$recursiveAnchor", "$comment", "$defs", "definitions",
    "$vocabulary",
    "title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly",
    "contentEncoding", "contentMediaType", "contentSchema", "discriminator",
})
REFERENCES = ("$ref", "$dynamicRef", "$recursiveRef")  # $recursiveRef: 2019-09 only
JSON_TYPES = ("null", "boolean", "object", "array", "string", "number", "integer")
