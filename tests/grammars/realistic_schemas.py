"""Realistic schemas shared by the JSON Schema tests (test_json_schema_realistic.py draws instances
and sentences from them, test_json_schema_token_level.py tokenizes their instances)."""

from __future__ import annotations

import re

import jsonschema

ADDRESS = {"type": "object", "additionalProperties": False, "required": ["street", "city", "country"],
           "properties": {"street": {"type": "string", "minLength": 1, "maxLength": 40},
                          "city": {"type": "string", "maxLength": 30},
                          "zip": {"type": "string", "pattern": "^[0-9]{5}$"},
                          "country": {"enum": ["DE", "FR", "US", "JP"]}}}

SCHEMAS = {
    "person": {"type": "object", "additionalProperties": False, "required": ["name"],
               "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 50},
                              "age": {"type": "integer", "minimum": 0, "maximum": 150},
                              "nickname": {"type": ["string", "null"]},
                              "id": {"type": "string", "format": "uuid"}}},
    "invoice": {
        "$defs": {
            "address": ADDRESS,
            "line": {"type": "object", "additionalProperties": False,
                     "required": ["sku", "quantity", "unit_price"],
                     "properties": {"sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{4}$"},
                                    "quantity": {"type": "integer", "minimum": 1, "maximum": 1000},
                                    "unit_price": {"type": "number", "minimum": 0, "maximum": 100000},
                                    "currency": {"enum": ["EUR", "USD"]}}},
        },
        "type": "object", "additionalProperties": False, "required": ["number", "date", "customer", "lines"],
        "properties": {"number": {"type": "string", "format": "uuid"},
                       "date": {"type": "string", "format": "date"},
                       "customer": {"type": "object", "additionalProperties": False, "required": ["name"],
                                    "properties": {"name": {"type": "string", "maxLength": 60},
                                                   "billing": {"$ref": "#/$defs/address"}}},
                       "lines": {"type": "array", "items": {"$ref": "#/$defs/line"}, "minItems": 1, "maxItems": 8},
                       "status": {"enum": ["draft", "sent", "paid"]},
                       "paid_on": {"type": ["string", "null"], "format": "date"}}},
    "event": {"type": "object", "additionalProperties": False, "required": ["title", "start"],
              "properties": {"title": {"type": "string", "maxLength": 80},
                             "start": {"type": "string", "format": "date-time"},
                             "end": {"type": "string", "format": "date-time"},
                             "attendees": {"type": "array", "maxItems": 4, "items": {
                                 "type": "object", "additionalProperties": False, "required": ["name", "rsvp"],
                                 "properties": {"name": {"type": "string"},
                                                "rsvp": {"enum": ["yes", "no", "maybe"]}}}}}},
    "tree": {"$defs": {"node": {"type": "object", "additionalProperties": False, "required": ["value"],
                                "properties": {"value": {"type": "integer"},
                                               "children": {"type": "array", "maxItems": 3,
                                                            "items": {"$ref": "#/$defs/node"}}}}},
             "$ref": "#/$defs/node"},
    "catalog": {"type": "array", "maxItems": 5, "items": {
        "type": "object", "additionalProperties": False, "required": ["name", "price"],
        "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 20},
                       "price": {"type": "number", "exclusiveMinimum": 0, "maximum": 9999.99},
                       "tags": {"type": "array", "items": {"type": "string", "maxLength": 10}, "maxItems": 4},
                       "stock": {"type": "integer", "minimum": 0}}}},
    "settings": {"type": "object", "additionalProperties": False,
                 "properties": {"theme": {"enum": ["light", "dark", "system"]},
                                "notifications": {"type": "boolean"},
                                "language": {"type": "string", "pattern": "^[a-z]{2}(-[A-Z]{2})?$"},
                                "volume": {"type": "integer", "multipleOf": 5, "minimum": 0, "maximum": 100},
                                "ratio": {"type": "number", "minimum": -1.5, "exclusiveMaximum": 2.25}}},
    "geo": {"type": "object", "additionalProperties": False, "required": ["lat", "lon"],
            "properties": {"lat": {"type": "number", "minimum": -90, "maximum": 90},
                           "lon": {"type": "number", "minimum": -180, "maximum": 180},
                           "ip": {"type": "string", "format": "ipv4"},
                           "label": {"anyOf": [{"type": "string", "maxLength": 12}, {"type": "null"}]}}},
    "shapes": {"type": "array", "maxItems": 3, "items": {"oneOf": [
        {"type": "object", "additionalProperties": False, "required": ["kind", "radius"],
         "properties": {"kind": {"const": "circle"}, "radius": {"type": "number", "exclusiveMinimum": 0}}},
        {"type": "object", "additionalProperties": False, "required": ["kind", "side"],
         "properties": {"kind": {"const": "square"}, "side": {"type": "integer", "minimum": 1}}}]}},
    "http_response": {"type": "object", "required": ["status", "headers"], "additionalProperties": False,
                      "properties": {"status": {"type": "integer", "minimum": 100, "maximum": 599},
                                     "headers": {"type": "object", "additionalProperties": {"type": "string"},
                                                 "maxProperties": 3},
                                     "body": {"type": ["string", "null"]}}},
    "labels_open": {"type": "object", "properties": {"id": {"type": "integer", "minimum": 1}}, "required": ["id"]},
    "matrix": {"type": "array", "minItems": 1, "maxItems": 3,
               "items": {"type": "array", "prefixItems": [{"type": "number"}, {"type": "number"}],
                         "items": False, "minItems": 2}},
}
SPEC_MODE = {"labels_open"}  # compiled with strict=False: unlisted keys allowed (spec default)

FORMAT_CHECKER = jsonschema.Draft202012Validator.FORMAT_CHECKER
BOUNDED_NUMBER_WITH_EXPONENT = re.compile(r"[0-9][eE][-+]?[0-9]")
