"""The draft 2020-12 keywords by role."""

ANNOTATIONS = frozenset({
    "$schema", "$id", "$anchor", "$dynamicAnchor", "$comment", "$defs", "definitions", "$vocabulary",
    "title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly",
    "contentEncoding", "contentMediaType", "contentSchema", "discriminator",
})
OBJECT_KEYWORDS = frozenset({"properties", "required", "additionalProperties", "patternProperties",
                             "propertyNames", "minProperties", "maxProperties", "dependentRequired"})
ARRAY_KEYWORDS = frozenset({"items", "prefixItems", "minItems", "maxItems"})
STRING_KEYWORDS = frozenset({"minLength", "maxLength", "pattern", "format"})
NUMBER_KEYWORDS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"})
IN_PLACE_APPLICATORS = ("allOf", "anyOf", "oneOf", "$ref", "$dynamicRef", "if", "dependentSchemas", "not")
KNOWN_UNSUPPORTED = ("uniqueItems", "contains", "minContains", "maxContains", "if", "then", "else",
                     "dependentSchemas", "unevaluatedProperties", "unevaluatedItems", "not",
                     "dependencies", "additionalItems", "$recursiveRef")
REFERENCES = ("$ref", "$dynamicRef")
JSON_TYPES = ("null", "boolean", "object", "array", "string", "number", "integer")
