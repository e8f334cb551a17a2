"""fakesnow's Snowflake REST server, answering SELECTs with JSON rowsets for the Node snowflake-sdk.

fakesnow returns query results as Arrow (``rowsetBase64``), which the Node driver cannot read: it
only reads a JSON ``rowset`` of strings. This module wraps fakesnow's query endpoint and re-encodes
each Arrow result in the driver's string encodings (see the driver's
lib/connection/result/column.js). The rest of fakesnow's app is served unchanged.

Run with the venv's python: ``server.py --port 18085``; ``FAKESNOW_DB_PATH`` (a folder) makes the
databases persistent files instead of in-memory ones.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import json
import logging
import math
import os
import warnings
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import fakesnow.server as fakesnow_server
import pyarrow as pa
import uvicorn
from fakesnow.instance import FakeSnow
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

QUERY_PATH = "/queries/v1/query-request"
NANOS = 1_000_000_000
EPOCH_DAY = datetime.date(1970, 1, 1)

# Session parameters the driver reads while converting values; Snowflake always sends them, and
# the driver fails on some when they are missing (BINARY_OUTPUT_FORMAT). Values are Snowflake's defaults.
DRIVER_PARAMETERS = {
    "TIMEZONE": "Etc/UTC",
    "DATE_OUTPUT_FORMAT": "YYYY-MM-DD",
    "TIME_OUTPUT_FORMAT": "HH24:MI:SS",
    "TIMESTAMP_OUTPUT_FORMAT": "YYYY-MM-DD HH24:MI:SS.FF3 TZHTZM",
    "TIMESTAMP_NTZ_OUTPUT_FORMAT": "YYYY-MM-DD HH24:MI:SS.FF3",
    "TIMESTAMP_LTZ_OUTPUT_FORMAT": "",
    "TIMESTAMP_TZ_OUTPUT_FORMAT": "",
    "BINARY_OUTPUT_FORMAT": "HEX",
}

Encoder = Callable[[Any], "str | None"]


def seconds_text(nanos: int) -> str:
    """Exact decimal seconds with 9 fractional digits; the driver scales this by the column's scale (9)."""
    sign = "-" if nanos < 0 else ""
    whole, fraction = divmod(abs(nanos), NANOS)
    return f"{sign}{whole}.{fraction:09d}"


def fixed_text(value: int | Decimal) -> str:
    # format 'f': str(Decimal) may use exponent notation ("0E-10"), which NUMBER values never do.
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def real_text(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(value)


def timestamp_text(value: dict[str, int | None], with_zone: bool) -> str | None:
    # fakesnow encodes timestamps as {epoch, fraction[, timezone]} structs whose NULLs sit in the
    # children, not in the struct itself.
    epoch, fraction = value.get("epoch"), value.get("fraction")
    if epoch is None or fraction is None:
        return None
    text = seconds_text(epoch * NANOS + fraction)
    # TIMESTAMP_TZ carries its offset as minutes + 1440 after a space.
    return f"{text} {value.get('timezone', 1440)}" if with_zone else text


def variant_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


ENCODERS: dict[str, Encoder] = {
    "fixed": fixed_text,
    "real": real_text,
    "text": str,
    "boolean": lambda v: "1" if v else "0",
    "date": lambda v: str((v - EPOCH_DAY).days),
    # fakesnow sends TIME as int64 nanoseconds since midnight.
    "time": seconds_text,
    "timestamp_ntz": lambda v: timestamp_text(v, with_zone=False),
    "timestamp_ltz": lambda v: timestamp_text(v, with_zone=False),
    "timestamp_tz": lambda v: timestamp_text(v, with_zone=True),
    "variant": variant_text,
    "object": variant_text,
    "array": variant_text,
    "binary": lambda v: v.hex().upper(),
}


def encode_column(values: list[Any], sf_type: str) -> list[str | None]:
    encode = ENCODERS.get(sf_type, str)
    return [None if v is None else encode(v) for v in values]


def arrow_to_rowset(rowset_base64: str, rowtype: list[dict[str, Any]]) -> list[list[str | None]]:
    if not rowset_base64:
        return []
    table = pa.ipc.open_stream(base64.b64decode(rowset_base64)).read_all()
    columns = [encode_column(table.column(i).to_pylist(), column["type"]) for i, column in enumerate(rowtype)]
    return [list(row) for row in zip(*columns, strict=True)]


def with_driver_parameters(parameters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    present = {p["name"] for p in parameters}
    return parameters + [{"name": k, "value": v} for k, v in DRIVER_PARAMETERS.items() if k not in present]


def as_json_result(data: dict[str, Any]) -> None:
    """Rewrites an Arrow result in place as the JSON result the driver reads."""
    data["rowset"] = arrow_to_rowset(data.pop("rowsetBase64", ""), data.get("rowtype", []))
    data["queryResultFormat"] = "json"


async def query_request(request: Request) -> Response:
    response = await fakesnow_server.query_request(request)
    body = json.loads(bytes(response.body))
    data = body.get("data")
    if isinstance(data, dict):
        if data.get("queryResultFormat") == "arrow":
            as_json_result(data)
        if "rowset" in data:
            # The driver counts rows from "returned"; without it (as in fakesnow's DML answers)
            # it never completes the statement.
            data.setdefault("returned", len(data["rowset"]))
        if "rowtype" in data:
            data["parameters"] = with_driver_parameters(data.get("parameters", []))
            # The driver reads TIMESTAMP_TZ values as "seconds offset" only from result version 1 on.
            data.setdefault("version", 1)
    return JSONResponse(body, status_code=response.status_code)


def wrapped_routes(routes: list[BaseRoute]) -> list[BaseRoute]:
    return [
        Route(QUERY_PATH, query_request, methods=["POST"])
        if isinstance(route, Route) and route.path == QUERY_PATH
        else route
        for route in routes
    ]


def make_app() -> Starlette:
    if db_path := os.environ.get("FAKESNOW_DB_PATH"):
        os.makedirs(db_path, exist_ok=True)
        # Sessions without their own FAKESNOW_DB_PATH share this instance; fakesnow's default is in-memory.
        fakesnow_server.shared_fs = FakeSnow(db_path=db_path)
    return Starlette(routes=wrapped_routes(fakesnow_server.routes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18085)
    parser.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    args = parser.parse_args()

    # DuckDB warns once per process that fakesnow's Arrow fetch copies rows: true, and not ours to fix.
    warnings.filterwarnings("ignore", message="Arrow output on a DB-API result")
    # fakesnow logs every login and failed statement at INFO, on a logger it sets to INFO itself.
    logging.getLogger("fakesnow.server").setLevel(args.log_level.upper())
    uvicorn.run(make_app(), host=args.host, port=args.port, log_level=args.log_level, access_log=False)


if __name__ == "__main__":
    main()
