"""OpenAI-style `tools` and `tool_choice` for chat completions.

The tools are handed to the model's chat template (templates that know tools render them in
the model's own format). Then:
  tool_choice "none"                         ordinary text; the tools are only context
  tool_choice "required", or a named function  the answer is constrained by a grammar to one
                                             call {"name": ..., "arguments": {...}} whose
                                             arguments follow that function's JSON Schema
  tool_choice "auto" (the default)           free text; if the whole answer is such a call
                                             of a known function, it is returned as a call
A call comes back as the assistant message's `tool_calls` with finish_reason "tool_calls",
its arguments as a JSON string, as OpenAI returns them.
"""

from __future__ import annotations

import json
import uuid

from constrain.errors import SamplingError


def check_tools(tools, tool_choice):
    """(tools as a list of function specs, the normalized choice: "none" | "auto" | "required" | a name)."""
    if tools is None:
        if tool_choice not in (None, "none", "auto"):
            raise SamplingError("tool_choice needs tools")
        return None, "none"
    if not isinstance(tools, list) or not tools:
        raise SamplingError("tools must be a non-empty list of {\"type\": \"function\", \"function\": {...}}")
    names = []
    for i, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(tool, dict) or tool.get("type", "function") != "function" or not isinstance(function, dict):
            raise SamplingError(
                f"tools[{i}] must be {{\"type\": \"function\", \"function\": {{\"name\", \"parameters\"}}}}")
        name = function.get("name")
        if not isinstance(name, str) or not name:
            raise SamplingError(f"tools[{i}].function.name must be a non-empty string")
        parameters = function.get("parameters", {"type": "object"})
        if not isinstance(parameters, dict):
            raise SamplingError(f"tools[{i}].function.parameters must be a JSON Schema object")
        names.append(name)
    if len(set(names)) != len(names):
        raise SamplingError("tools: two functions share a name")
    if tool_choice is None:
        return tools, "auto"
    if tool_choice in ("none", "auto", "required"):
        return tools, tool_choice
    if isinstance(tool_choice, dict) and isinstance(tool_choice.get("function"), dict):
        name = tool_choice["function"].get("name")
        if name not in names:
            raise SamplingError(f"tool_choice names function {name!r}, which is not among the tools {names}")
        return tools, name
    raise SamplingError('tool_choice must be "none", "auto", "required" or {"type": "function", "function": {"name"}}')


def _parameters(tool) -> dict:
    return tool["function"].get("parameters", {"type": "object"})


def call_schema(tools, choice) -> dict:
    """The JSON Schema of one call of the chosen function (or of any of them)."""
    chosen = [t for t in tools if choice == "required" or t["function"]["name"] == choice]
    shapes = [{"type": "object",
               "properties": {"name": {"const": t["function"]["name"]}, "arguments": _parameters(t)},
               "required": ["name", "arguments"], "additionalProperties": False} for t in chosen]
    return shapes[0] if len(shapes) == 1 else {"anyOf": shapes}


def parse_call(text: str, tools) -> dict | None:
    """The call `text` spells ({"name", "arguments"} of a known function), or None."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if not isinstance(value, dict) or set(value) != {"name", "arguments"} or not isinstance(value["arguments"], dict):
        return None
    if value["name"] not in {t["function"]["name"] for t in tools}:
        return None
    return value


def tool_calls_message(call: dict) -> dict:
    return {"role": "assistant", "content": None,
            "tool_calls": [{"id": f"call_{uuid.uuid4().hex[:24]}", "type": "function",
                            "function": {"name": call["name"],
                                         "arguments": json.dumps(call["arguments"], ensure_ascii=False)}}]}
