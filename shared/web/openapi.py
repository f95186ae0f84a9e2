"""Build the OpenAPI 3.1 document of a service from its URL map and ``@validate`` metadata."""
from __future__ import annotations

import html
import re
from typing import Any

from flask import Flask
from pydantic import TypeAdapter

_CONVERTER = re.compile(r"<(?:(?P<conv>[a-z]+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
_PARAM_SCHEMA = {
    # werkzeug's int converter takes non-negative digits; wider than SQLite's 64 bits is a 400
    "int": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
    "float": {"type": "number"},
    "uuid": {"type": "string", "format": "uuid"},
    "path": {"type": "string"},
    "string": {"type": "string"},
    None: {"type": "string"},
}
_ERROR_ENVELOPE = {
    "type": "object",
    "required": ["status", "data", "error", "timestamp"],
    "properties": {
        "status": {"const": "error"},
        "data": {"type": "null"},
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                           "details": {}},
        },
        "timestamp": {"type": "string", "format": "date-time"},
    },
}
_STANDARD_ERRORS = {
    400: "Invalid request (the error names the field)",
    401: "Missing or wrong API key",
    404: "Not found",
    405: "Method not allowed",
    413: "Request body too large",
    429: "Rate limited",
    500: "Unexpected error (the body carries an error id that is also in the log)",
    503: "Temporarily unavailable (database busy or a dependency down)",
}


class _Schemas:
    def __init__(self) -> None:
        self.components: dict[str, Any] = {}

    def of(self, tp: Any) -> dict[str, Any]:
        if tp is None:
            return {}
        if isinstance(tp, dict):
            return tp
        schema = TypeAdapter(tp).json_schema(
            ref_template="#/components/schemas/{model}", mode="serialization")
        for name, sub in schema.pop("$defs", {}).items():
            self.components[name] = sub
        if "title" in schema and "properties" in schema and isinstance(tp, type):
            name = tp.__name__
            self.components[name] = schema
            return {"$ref": f"#/components/schemas/{name}"}
        return schema

    def of_input(self, tp: Any) -> dict[str, Any]:
        schema = TypeAdapter(tp).json_schema(
            ref_template="#/components/schemas/{model}", mode="validation")
        for name, sub in schema.pop("$defs", {}).items():
            self.components.setdefault(name, sub)
        return schema


def _raw_prefix(app: Flask, path: str) -> tuple[bool, Any]:
    """Return (True, error schema) when ``path`` is under a prefix that answers raw bodies."""
    for prefix, error_schema in (app.extensions.get("openapi_raw_prefixes") or {}).items():
        if path.startswith(prefix):
            return True, error_schema
    return False, None


def build_openapi(app: Flask, title: str, version: str, description: str = "") -> dict[str, Any]:
    """Return the OpenAPI document of every route registered on ``app``.

    Routes under a prefix in ``app.extensions["openapi_raw_prefixes"]`` (prefix -> error body
    schema, e.g. an Alpaca-compatible API) are documented with raw bodies and that error shape.
    """
    schemas = _Schemas()
    paths: dict[str, Any] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        meta = getattr(view, "_api", None) or {}
        path = _CONVERTER.sub(lambda m: "{" + m.group("name") + "}", rule.rule)
        params = [
            {"name": m.group("name"), "in": "path", "required": True,
             "schema": _PARAM_SCHEMA.get(m.group("conv"), {"type": "string"})}
            for m in _CONVERTER.finditer(rule.rule)
        ]
        if meta.get("query") is not None:
            q = schemas.of_input(meta["query"])
            required = set(q.get("required", []))
            for name, sub in q.get("properties", {}).items():
                params.append({"name": name, "in": "query", "required": name in required,
                               "schema": sub, "explode": False, "style": "form"})
        prefix_raw, prefix_error = _raw_prefix(app, rule.rule)
        error_ref: dict[str, Any] = {"$ref": "#/components/schemas/ErrorEnvelope"}
        if prefix_raw:
            error_ref = prefix_error or {}
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            op: dict[str, Any] = {
                "operationId": f"{rule.endpoint}_{method.lower()}".replace(".", "_"),
                "summary": meta.get("summary") or (view.__doc__ or rule.endpoint).strip().split("\n")[0],
                "tags": meta.get("tags") or [rule.endpoint.split(".")[0]],
                "parameters": params,
                "responses": {},
            }
            if meta.get("body") is not None:
                op["requestBody"] = {"required": True, "content": {
                    "application/json": {"schema": schemas.of_input(meta["body"])}}}
            elif meta.get("body_doc") is not None:
                op["requestBody"] = {"required": False, "content": {
                    "application/json": {"schema": meta["body_doc"]}}}
            status = str(meta.get("status", 200))
            data_schema = schemas.of(meta.get("response")) if meta.get("response") is not None else {}
            if meta.get("raw") or prefix_raw:
                types = meta.get("mimetypes") or (meta.get("mimetype", "application/json"),)
                op["responses"][status] = {"description": "OK", "content": {
                    t: {"schema": data_schema} for t in types}}
            else:
                op["responses"][status] = {"description": "OK", "content": {"application/json": {
                    "schema": {"type": "object", "required": ["status", "data", "timestamp"],
                               "properties": {"status": {"const": "success"}, "data": data_schema,
                                              "error": {"type": "null"},
                                              "timestamp": {"type": "string"}}}}}}
            errors = dict(_STANDARD_ERRORS)
            errors.update(meta.get("responses") or {})
            for code, text in errors.items():
                if str(code) not in op["responses"]:
                    op["responses"][str(code)] = {"description": text, "content": {
                        "application/json": {"schema": error_ref}}}
            paths.setdefault(path, {})[method.lower()] = op
    schemas.components["ErrorEnvelope"] = _ERROR_ENVELOPE
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": description},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas.components,
            "securitySchemes": {"ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}},
        },
    }


def docs_html(spec: dict[str, Any]) -> str:
    """Return a self-contained HTML page listing every operation (no CDN, works offline)."""
    rows = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            params = ", ".join(
                f"{p['name']} ({p['in']}{', required' if p.get('required') else ''})"
                for p in op.get("parameters", []))
            body = "JSON body" if "requestBody" in op else ""
            rows.append(
                f"<tr><td class=m>{method.upper()}</td><td><code>{html.escape(path)}</code></td>"
                f"<td>{html.escape(op.get('summary', ''))}</td><td>{html.escape(params)}</td>"
                f"<td>{body}</td><td>{', '.join(sorted(op['responses']))}</td></tr>")
    title = html.escape(spec["info"]["title"])
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{title} API</title><style>body{{font:14px system-ui;background:#111;color:#ddd;"
        "margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #333;padding:4px 8px;"
        "vertical-align:top}}code{{color:#8cf}}.m{{font-weight:bold;color:#fc6}}</style></head><body>"
        f"<h1>{title} <small>{html.escape(spec['info']['version'])}</small></h1>"
        f"<p>{html.escape(spec['info'].get('description', ''))}</p>"
        "<p>Machine-readable: <a href='/openapi.json' style='color:#8cf'>/openapi.json</a></p>"
        "<table><tr><th>Method</th><th>Path</th><th>Summary</th><th>Parameters</th><th>Body</th>"
        f"<th>Responses</th></tr>{''.join(rows)}</table></body></html>")
