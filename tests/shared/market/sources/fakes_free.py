"""Loopback fakes of the providers that need no key: Yahoo's chart and quoteSummary, and
Binance's spot API as ccxt calls it (exchangeInfo, klines)."""
from __future__ import annotations

from typing import Any

import pandas as pd
from flask import Response, jsonify, request

from tests.shared.market.sources._fakebase import (
    DAYS,
    FakeApi,
    intraday,
    price,
    volume,
)


# -- Yahoo ---------------------------------------------------------------------------------
def _yahoo_meta(symbol: str, granularity: str) -> dict[str, Any]:
    return {"currency": "USD", "symbol": symbol, "exchangeName": "NMS",
            "fullExchangeName": "NasdaqGS", "instrumentType": "EQUITY",
            "firstTradeDate": 345479400, "regularMarketTime": 1709672400, "hasPrePostMarketData": True,
            "gmtoffset": -18000, "timezone": "EST", "exchangeTimezoneName": "America/New_York",
            "regularMarketPrice": 170.12, "chartPreviousClose": 175.1, "priceHint": 2,
            "dataGranularity": granularity, "range": "",
            "validRanges": ["1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd",
                            "max"]}


def yahoo() -> FakeApi:
    def error(code: str, desc: str, status: int) -> Any:
        return jsonify(chart={"result": None, "error": {"code": code, "description": desc}}), status

    fake = FakeApi("yahoo", {
        "429": lambda: Response("Too Many Requests\r\n", 429, mimetype="text/plain"),
        "500": lambda: error("Internal Server Error", "Internal Server Error", 500),
        "error": lambda: error("Unprocessable Entity", "1m data not available for "
                               "startTime=1 and endTime=2. Only 8 days worth of 1m "
                               "granularity data are allowed to be fetched per request.", 422),
    })

    @fake.app.get("/v8/finance/chart/<symbol>")
    def chart(symbol: str) -> Any:
        interval = request.args["interval"]
        if symbol == "NOPE":
            return error("Not Found", "No data found, symbol may be delisted", 404)
        result: dict[str, Any] = {"meta": _yahoo_meta(symbol, interval),
                                  "indicators": {"quote": [{}]}}
        if symbol != "EMPT":
            if interval == "1d" and symbol == "BTC-USD":  # a coin's day: 00:00 UTC
                ts = list(pd.date_range("2024-03-02", periods=4, freq="D", tz="UTC"))
            elif interval == "1d":  # stamped at each session's open (09:30 New York)
                ts = [pd.Timestamp(f"{d}T14:30Z") for d in DAYS]
            elif symbol == "BTC-USD":  # crypto: UTC boundaries around the clock
                ts = list(pd.date_range("2024-03-05T23:00Z", periods=4, freq="60min"))
            else:
                ts = intraday({"1m": 1, "5m": 5, "15m": 15, "60m": 60}[interval])
            quote = {k: [float(price(i, k)) for i in range(len(ts))]
                     for k in ("open", "high", "low", "close")}
            quote["volume"] = [volume(i) for i in range(len(ts))]
            if interval != "1d":  # Yahoo sends a bar with no trade as nulls
                for k in quote:
                    quote[k][-1] = None
            result["timestamp"] = [int(t.timestamp()) for t in ts]
            result["indicators"] = {"quote": [quote]}
        return jsonify(chart={"result": [result], "error": None})

    @fake.app.get("/v10/finance/quoteSummary/<symbol>")
    def summary(symbol: str) -> Any:
        if symbol == "NOPE":
            return jsonify(quoteSummary={"result": None, "error": {
                "code": "Not Found", "description": "Quote not found for ticker symbol: NOPE"}}
            ), 404
        raw = lambda v, f: {"raw": v, "fmt": f}  # noqa: E731
        return Response(YAHOO_SUMMARY_TEXT, mimetype="application/json") if symbol == "AAPL" \
            else jsonify(quoteSummary={"result": [{"price": {
                "longName": None, "shortName": "Empty Co", "currency": "USD",
                "exchangeName": "NYSE", "marketCap": raw(1000, "1k")}}], "error": None})

    return fake


#: quoteSummary of AAPL as Yahoo sends it (numbers written exactly as sent).
YAHOO_SUMMARY_TEXT = """{"quoteSummary": {"result": [{
 "price": {"maxAge": 1, "currency": "USD", "exchange": "NMS", "exchangeName": "NasdaqGS",
  "longName": "Apple Inc.", "shortName": "Apple Inc.", "quoteType": "EQUITY",
  "marketCap": {"raw": 2627985195008, "fmt": "2.63T", "longFmt": "2,627,985,195,008"}},
 "summaryDetail": {"maxAge": 1, "marketCap": {"raw": 2627985195008, "fmt": "2.63T"},
  "trailingPE": {"raw": 26.48387, "fmt": "26.48"}, "dividendYield": {"raw": 0.0057, "fmt": "0.57%"},
  "beta": {"raw": 1.287, "fmt": "1.29"}},
 "defaultKeyStatistics": {"maxAge": 1, "sharesOutstanding": {"raw": 15441899520, "fmt": "15.44B"},
  "floatShares": {"raw": 15422598963, "fmt": "15.42B"}, "trailingEps": {"raw": 6.43, "fmt": "6.43"},
  "mostRecentQuarter": {"raw": 1703894400, "fmt": "2023-12-30"}},
 "assetProfile": {"sector": "Technology", "industry": "Consumer Electronics",
  "fullTimeEmployees": 161000},
 "calendarEvents": {"maxAge": 1, "earnings": {"earningsDate": [
  {"raw": 1714680000, "fmt": "2024-05-02"}], "earningsAverage": {"raw": 1.5, "fmt": "1.5"}}}
}], "error": null}}"""


# -- Binance ---------------------------------------------------------------------------------
#: The fake's first kline (a Saturday: crypto trades through the weekend) and its count per
#: interval; 1,500 one-minute klines take two pages of 1,000.
BINANCE_START = pd.Timestamp("2024-03-02T00:00Z")
BINANCE_BARS = {"1m": 1500, "5m": 300, "15m": 100, "1h": 48, "1d": 7}
_BINANCE_STEP = {"1m": 1, "5m": 5, "15m": 15, "1h": 60, "1d": 1440}


def _binance_market(base: str, quote: str) -> dict[str, Any]:
    return {"symbol": base + quote, "status": "TRADING", "baseAsset": base,
            "baseAssetPrecision": 8, "quoteAsset": quote, "quotePrecision": 8,
            "quoteAssetPrecision": 8, "baseCommissionPrecision": 8,
            "quoteCommissionPrecision": 8,
            "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT",
                           "TAKE_PROFIT_LIMIT"],
            "icebergAllowed": True, "ocoAllowed": True, "otoAllowed": True,
            "quoteOrderQtyMarketAllowed": True, "allowTrailingStop": True,
            "cancelReplaceAllowed": True, "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": True,
            "filters": [{"filterType": "PRICE_FILTER", "minPrice": "0.01000000",
                         "maxPrice": "1000000.00000000", "tickSize": "0.01000000"},
                        {"filterType": "LOT_SIZE", "minQty": "0.00001000",
                         "maxQty": "9000.00000000", "stepSize": "0.00001000"}],
            "permissions": [], "permissionSets": [["SPOT", "MARGIN"]],
            "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
            "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"]}


def binance_kline(i: int, interval: str) -> list[Any]:
    """Return kline ``i`` of ``interval`` as Binance sends it (prices as 8-decimal text)."""
    step = _BINANCE_STEP[interval] * 60_000
    t = int(BINANCE_START.timestamp() * 1000) + i * step
    p = {k: price(i, k) + "000000" for k in ("open", "high", "low", "close")}
    return [t, p["open"], p["high"], p["low"], p["close"], f"{volume(i)}.25000000",
            t + step - 1, "1808357.74500000", 42 + i, "10.00000000", "1800000.00000000", "0"]


def binance() -> FakeApi:
    def error(status: int, code: int, msg: str) -> Any:
        return jsonify(code=code, msg=msg), status

    fake = FakeApi("binance", {
        "429": lambda: error(429, -1003, "Too many requests; current limit of IP(127.0.0.1) "
                             "is 6000 requests per minute. Please use WebSocket Streams for "
                             "live updates to avoid polling the API."),
        "500": lambda: Response("<html><body><h1>502 Bad Gateway</h1></body></html>", 502,
                                mimetype="text/html"),
        "error": lambda: error(400, -1121, "Invalid symbol."),
    })

    @fake.app.get("/api/v3/exchangeInfo")
    def info() -> Any:
        return jsonify(timezone="UTC", serverTime=1709337600000, rateLimits=[
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
             "limit": 6000}], exchangeFilters=[],
            symbols=[_binance_market("BTC", "USDT"), _binance_market("ETH", "USDT"),
                     _binance_market("EMPT", "USDT")])

    @fake.app.get("/api/v3/klines")
    def klines() -> Any:
        sym, interval = request.args["symbol"], request.args["interval"]
        if sym not in ("BTCUSDT", "ETHUSDT", "EMPTUSDT"):
            return error(400, -1121, "Invalid symbol.")
        lo = int(request.args.get("startTime", 0))
        hi = int(request.args.get("endTime", 2**62))
        limit = int(request.args.get("limit", 500))
        rows = [] if sym == "EMPTUSDT" else [
            binance_kline(i, interval) for i in range(BINANCE_BARS[interval])]
        return jsonify([r for r in rows if lo <= r[0] <= hi][:limit])

    return fake
