"""The compiler's side of dialects: which draft a document is read in, which draft a `$ref` lands
in, how draft-04 spells integers, and how to validate `enum` candidates where `jsonschema` cannot
read the document as written (no `$schema`, legacy spellings).

dialects.py says what each draft's keywords mean; this module answers the questions the compiler
asks while it walks a document (node_compiler.SchemaCompiler calls each one).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping

import referencing
import referencing.exceptions
import referencing.jsonschema

from constrain.grammars.json_schema.dialect_document import DocumentTranslator
from constrain.grammars.json_schema.dialect_referencing import UNDECLARED_SPECIFICATION, tolerant
from constrain.grammars.json_schema.dialects import (
    DIALECTS,
    DRAFT_2020_12,
    UNDECLARED,
    CustomMetaSchema,
    Dialect,
    dialect_of,
)
from constrain.grammars.json_schema.errors import InvalidSchemaError, JsonSchemaError, UnsupportedSchemaError
from constrain.grammars.json_schema.numbers import MAX_ZERO_FRACTION_DIGITS

# draft-04's integer: "a JSON number without a fraction or exponent part" (1.0 is not one)
DRAFT4_INTEGER = r"-?(?:0|[1-9][0-9]*)"

# The drafts with vocabularies: dialect name -> (vocabulary URI prefix, its standard vocabularies).
VOCABULARIES = {
    "2020-12": ("https://json-schema.org/draft/2020-12/vocab/",
                ("core", "validation", "applicator", "unevaluated", "meta-data", "format-annotation",
                 "format-assertion", "content")),
    "2019-09": ("https://json-schema.org/draft/2019-09/vocab/",
                ("core", "validation", "applicator", "meta-data", "format", "content")),
}
APPLICATOR_KEYWORDS = frozenset({
    "prefixItems", "items", "contains", "additionalProperties", "properties", "patternProperties",
    "dependentSchemas", "propertyNames", "if", "then", "else", "allOf", "anyOf", "oneOf", "not",
    "unevaluatedItems", "unevaluatedProperties", "additionalItems", "dependencies"})

# a resource's `referencing` specification -> the dialect whose keywords its schemas use
_DIALECT_OF_SPECIFICATION = {spec: d for d in DIALECTS for spec in (d.specification, tolerant(d.specification))}
_DIALECT_OF_SPECIFICATION[UNDECLARED_SPECIFICATION] = UNDECLARED
_DIALECT_OF_SPECIFICATION[tolerant(UNDECLARED_SPECIFICATION)] = UNDECLARED


def declared_dialect(root, registry: referencing.Registry) -> Dialect:
    """The dialect `root`'s `$schema` names (dialects.dialect_of: typed errors for retired drafts
    and non-strings; none: 2020-12 with legacy spellings).

    Any other URI is a custom meta-schema, which must be in `registry`: one declaring 2019-09 or
    2020-12 vocabularies that include core and validation (others optional; applicator too when
    the schema uses applicators) reads as that draft; one without `$vocabulary` whose own `$schema`
    is draft-04/06/07 reads as that draft, whose validators ignore unknown keywords. Anything else
    is refused at `#/$schema`: a custom meta-schema may switch assertions off, so it is never guessed."""
    dialect = dialect_of(root)
    if not isinstance(dialect, CustomMetaSchema):
        return dialect
    uri = dialect.uri
    try:
        meta = registry.resolver().lookup(uri).contents
    except (referencing.exceptions.Unresolvable, AttributeError, TypeError):
        raise UnsupportedSchemaError(f"custom meta-schema {uri!r} is not in the registry, so its dialect is "
                                     "unknown (pass it in `registry`, or declare a standard $schema)",
                                     keyword="$schema", path="#") from None
    vocabularies = meta.get("$vocabulary") if isinstance(meta, Mapping) else None
    try:
        extended = dialect_of({"$schema": meta["$schema"]}) if isinstance(meta, Mapping) and isinstance(
            meta.get("$schema"), str) else None
    except (InvalidSchemaError, UnsupportedSchemaError):
        extended = None
    if extended is UNDECLARED or not isinstance(extended, Dialect):
        extended = DRAFT_2020_12 if vocabularies is not None else None
    if extended is not None and extended.name in VOCABULARIES and isinstance(vocabularies, Mapping):
        prefix, names = VOCABULARIES[extended.name]
        standard = {prefix + name for name in names}
        if {prefix + "core", prefix + "validation"} <= set(vocabularies) and all(
                required is False for vocabulary, required in vocabularies.items() if vocabulary not in standard):
            if prefix + "applicator" in vocabularies or not APPLICATOR_KEYWORDS & set(root):
                return extended
    elif extended is not None and extended.name not in VOCABULARIES and vocabularies is None:
        return extended
    raise UnsupportedSchemaError(f"dialect {uri!r} is neither a draft meta-schema nor one that extends a draft "
                                 "with its standard vocabularies (core and validation required, others "
                                 "optional)", keyword="$schema", path="#")


def resource_dialect(registry: referencing.Registry, resolver, fallback: Dialect) -> Dialect:
    """The dialect of the resource a reference landed in (a remote document may be another draft)."""
    try:
        resource = registry[resolver._base_uri]
    except (LookupError, referencing.exceptions.NoSuchResource):
        return fallback
    return _DIALECT_OF_SPECIFICATION.get(resource._specification, fallback)


# ------------------------------------------------------------------ draft-04 numbers
def integral_number(value) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            and float(value).is_integer())


def draft4_spellings(value, is_valid) -> str | None:
    """Draft-04 tells the integer 1 from the number 1.0 (JSON text `1` from `1.0`), so an integral
    enum value may be valid in one spelling only (`type: integer` beside it). `is_valid(v)` checks
    a value with Draft4Validator. Returns the regex of the valid spellings ("" for none), or None
    when both are valid and nothing needs narrowing."""
    as_int, as_float = is_valid(int(value)), is_valid(float(value))
    if as_int and as_float:
        return None
    n = int(value)
    integer = "-?0" if n == 0 else re.escape(str(n))
    if as_int:
        return integer
    if as_float:
        dumped = json.dumps(float(value))  # a float json.dumps writes with an exponent: 1e+17
        exponent_form = f"|{re.escape(dumped)})" if "e" in dumped else ")"
        return f"(?:{integer}\\.0{{1,{MAX_ZERO_FRACTION_DIGITS}}}" + exponent_form
    return ""


# ------------------------------------------------------------------ documents without $schema
class UndeclaredView:
    """Validation targets for a document without `$schema`. `jsonschema`'s 2020-12 class does not
    read legacy spellings (array-form `items` even makes it fail), so a document that has any is
    translated whole (dialect_document.DocumentTranslator) once, when first needed, and a
    subschema is validated as its translated counterpart. A document with none validates as it is."""

    def __init__(self, root, outer_registry: referencing.Registry):
        self._root = root
        self._outer_registry = outer_registry
        self._built = False
        self._placed: dict | None = None   # id(original subschema) -> (its path in the translation, dialect)
        self._document = None
        self._registry = None

    @property
    def built(self) -> bool:
        """The translation was made (or found unneeded): what the view owns no longer changes."""
        return self._built

    def _build(self) -> None:
        self._built = True
        if not isinstance(self._root, Mapping):
            return
        try:
            translator = DocumentTranslator(self._root, UNDECLARED)
            document = translator.run()
        except JsonSchemaError:
            self._placed = {}  # nothing can be looked up: legacy subschemas' enums are refused
            return
        if document == {**self._root, "$schema": document["$schema"]}:
            return  # no legacy spelling: the document means what 2020-12 says
        self._placed, self._document = translator.placed, document
        resource = referencing.jsonschema.DRAFT202012.create_resource(document)
        self._registry = self._outer_registry.with_resource(resource.id() or "", resource).crawl()

    def counterpart(self, schema, resolver, path: str):
        """(schema to validate, resolver to validate it with) for `schema` at `resolver`'s base."""
        if not self._built:
            self._build()
        if self._placed is None:
            return schema, resolver
        placed = self._placed.get(id(schema))
        if placed is None:
            raise UnsupportedSchemaError("enum/const values under a subschema written with legacy (pre-2020-12) "
                                         "spellings that the document translation does not reach cannot be "
                                         "checked; declare the draft with $schema", keyword="enum", path=path)
        translated = self._document
        for segment in placed[0]:
            translated = translated[segment]
        return translated, self._registry.resolver(resolver._base_uri)
