"""OpenAPI links: how a client goes from one answer to the next call.

Every answer that is a request (filing, reading, each action) carries its ``id``,
its documents and its hold; the operations on that request, its documents and its
hold take those as path parameters. Publishing the links lets clients, and
stateful API tests, follow a request through its life without guessing ids.
"""

from typing import Any

REQUEST_SCHEMA = "#/components/schemas/Request"
# path parameter -> where a request answer carries it
_FROM_REQUEST = {
    "request_id": "$response.body#/id",
    "document_id": "$response.body#/documents/0/id",
    "hold_id": "$response.body#/hold/id",
}


def _operations(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return [op for item in schema["paths"].values() for op in item.values() if "operationId" in op]


def _path_parameters(operation: dict[str, Any]) -> set[str]:
    return {p["name"] for p in operation.get("parameters", []) if p.get("in") == "path"}


def _answers_a_request(response: dict[str, Any]) -> bool:
    return any(
        media.get("schema", {}).get("$ref") == REQUEST_SCHEMA
        for media in response.get("content", {}).values()
    )


def links_add(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: link every request answer to the
    operations whose path parameters it supplies."""
    operations = _operations(result)
    targets = [
        (op["operationId"], params)
        for op in operations
        if (params := _path_parameters(op)) and params <= set(_FROM_REQUEST)
    ]
    for operation in operations:
        for status_code, response in operation.get("responses", {}).items():
            if not status_code.startswith("2") or not _answers_a_request(response):
                continue
            response["links"] = {
                target: {
                    "operationId": target,
                    "parameters": {name: _FROM_REQUEST[name] for name in sorted(params)},
                }
                for target, params in targets
            }
    return result
