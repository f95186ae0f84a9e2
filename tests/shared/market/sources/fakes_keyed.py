"""Loopback fakes of the providers with a key: Polygon, Tiingo, Alpha Vantage and FMP."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
from flask import Response, jsonify, request

from tests.shared.market.sources._fakebase import (
    DAYS,
    OPEN,
    FakeApi,
    intraday,
    price,
    volume,
)

# -- Polygon ---------------------------------------------------------------------------------
POLYGON_PAGE = 200  # the fake pages its answers this small, to make the client follow next_url


def _polygon_error(status: int, kind: str, text: str, key: str = "error") -> Any:
    # a 429 says when to come back: an hour, which the client must not wait out
    headers = {"Retry-After": "3600"} if status == 429 else {}
    return jsonify(**{"status": kind, "request_id": "a47d1beb8c11b6ae897ab76cdbbf35a3",
                      key: text}), status, headers


def polygon() -> FakeApi:
    fake = FakeApi("polygon", {
        "429": lambda: _polygon_error(429, "ERROR", "You've exceeded the maximum requests per "
                                      "minute, please wait or upgrade your subscription to "
                                      "continue. https://polygon.io/pricing"),
        "500": lambda: _polygon_error(500, "ERROR", "Internal server error"),
        "error": lambda: _polygon_error(400, "ERROR", "Could not parse the time parameter: "
                                        "'from'. Use YYYY-MM-DD or Unix MS Timestamps"),
    })

    @fake.app.before_request
    def _key() -> Any:
        if request.headers.get("Authorization") != "Bearer pg-key":
            return _polygon_error(401, "ERROR", "Unknown API Key")
        return None

    @fake.app.get("/v2/aggs/ticker/<ticker>/range/<int:mult>/<span>/<lo>/<hi>")
    def aggs(ticker: str, mult: int, span: str, lo: str, hi: str) -> Any:
        body: dict[str, Any] = {"ticker": ticker, "queryCount": 0, "resultsCount": 0,
                                "adjusted": True, "status": "OK",
                                "request_id": "6a7e466379af0a71039d60cc78e72282"}
        if ticker in ("EMPT", "NOPE"):  # Polygon answers an unknown ticker with no bars too
            return jsonify(body)
        if span == "day":
            ts = [pd.Timestamp(d, tz="America/New_York") for d in DAYS]
        elif ticker == "X:BTCUSD":
            ts = list(pd.date_range("2024-03-05T23:00Z", periods=3, freq="60min"))
        else:
            ts = intraday(mult if span == "minute" else 60 * mult)
        bars = [{"v": volume(i), "vw": float(price(i, "close")), "o": float(price(i, "open")),
                 "c": float(price(i, "close")), "h": float(price(i, "high")),
                 "l": float(price(i, "low")), "t": int(t.timestamp() * 1000), "n": 10 + i}
                for i, t in enumerate(ts)]
        bars = [b for b in bars if int(lo) <= b["t"] <= int(hi)]
        page = int(request.args.get("cursor", 0))
        chunk = bars[page * POLYGON_PAGE:(page + 1) * POLYGON_PAGE]
        body.update(queryCount=len(bars), resultsCount=len(chunk), count=len(chunk),
                    results=chunk)
        if (page + 1) * POLYGON_PAGE < len(bars):
            body["next_url"] = (f"https://api.polygon.io/v2/aggs/ticker/{ticker}/range/{mult}/"
                                f"{span}/{lo}/{hi}?cursor={page + 1}")
        return jsonify(body)

    @fake.app.get("/v3/reference/tickers/<ticker>")
    def details(ticker: str) -> Any:
        if ticker != "AAPL":
            return _polygon_error(404, "NOT_FOUND", "Ticker not found.", "message")
        return Response(POLYGON_DETAILS_TEXT, mimetype="application/json")

    return fake


POLYGON_DETAILS_TEXT = """{"request_id": "31d59dda-80e5-4721-8496-d0d32a654afe", "status": "OK",
 "results": {"ticker": "AAPL", "name": "Apple Inc.", "market": "stocks", "locale": "us",
  "primary_exchange": "XNAS", "type": "CS", "active": true, "currency_name": "usd",
  "cik": "0000320193", "composite_figi": "BBG000B9XRY4", "share_class_figi": "BBG001S5N8V8",
  "market_cap": 2771126040150.32, "phone_number": "(408) 996-1010",
  "description": "Apple designs a wide variety of consumer electronic devices.",
  "sic_code": "3571", "sic_description": "ELECTRONIC COMPUTERS", "ticker_root": "AAPL",
  "homepage_url": "https://www.apple.com", "total_employees": 154000,
  "list_date": "1980-12-12", "share_class_shares_outstanding": 16406400000,
  "weighted_shares_outstanding": 16334371000, "round_lot": 100}}"""


# -- Tiingo ----------------------------------------------------------------------------------
def tiingo() -> FakeApi:
    def detail(status: int, text: str) -> Any:
        return jsonify(detail=text), status

    fake = FakeApi("tiingo", {
        "429": lambda: detail(429, "Error: You have run over your hourly request allocation. "
                              "Please upgrade at https://api.tiingo.com/pricing to have your "
                              "limits increased."),
        "500": lambda: Response("Internal Server Error", 500, mimetype="text/plain"),
        "error": lambda: detail(400, "Error: resampleFreq must be in 'min' or 'hour' only"),
    })

    @fake.app.before_request
    def _key() -> Any:
        if request.headers.get("Authorization") != "Token tg-key":
            return detail(401, "Invalid token.")
        return None

    @fake.app.get("/tiingo/daily/<ticker>/prices")
    def daily(ticker: str) -> Any:
        if ticker == "nope":
            return detail(404, "Error: Ticker 'NOPE' not found")
        if ticker == "empt":
            return jsonify([])
        return jsonify([{"date": f"{d}T00:00:00.000Z", "close": float(price(i, "close")),
                         "high": float(price(i, "high")), "low": float(price(i, "low")),
                         "open": float(price(i, "open")), "volume": volume(i),
                         "adjClose": float(price(i, "close")) - 1, "adjHigh": 0.0,
                         "adjLow": 0.0, "adjOpen": 0.0, "adjVolume": volume(i),
                         "divCash": 0.0, "splitFactor": 1.0} for i, d in enumerate(DAYS)])

    @fake.app.get("/iex/<ticker>/prices")
    def iex(ticker: str) -> Any:
        if ticker == "nope":
            return detail(404, "Error: Ticker 'NOPE' not found")
        if ticker == "empt":
            return jsonify([])
        minutes = int(request.args["resampleFreq"].removesuffix("min"))
        return jsonify([{"date": t.tz_convert("America/New_York").isoformat(),
                         **{k: float(price(i, k)) for k in ("open", "high", "low", "close")},
                         "volume": volume(i)} for i, t in enumerate(intraday(minutes))])

    return fake


# -- Alpha Vantage ---------------------------------------------------------------------------
AV_RATE_INFO = ("Thank you for using Alpha Vantage! Our standard API rate limit is 25 requests "
                "per day. Please subscribe to any of the premium plans at "
                "https://www.alphavantage.co/premium/ to instantly remove all daily rate limits.")
AV_RATE_NOTE = ("Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls "
                "per minute and 500 calls per day. Please visit "
                "https://www.alphavantage.co/premium/ if you would like to target a higher API "
                "call frequency.")
AV_PREMIUM = ("Thank you for using Alpha Vantage! The outputsize=full parameter value is a "
              "premium feature for the TIME_SERIES_DAILY endpoint. You may subscribe to any of "
              "the premium plans at https://www.alphavantage.co/premium/ to instantly unlock "
              "all premium features")
#: After the change to daylight saving time (EDT): 09:30 New York is 13:30 UTC.
AV_EDT_BARS = ("2024-03-11 09:30:00", "2024-03-11 09:35:00")


def _av_bar(i: int) -> dict[str, str]:
    return {"1. open": price(i, "open"), "2. high": price(i, "high"), "3. low": price(i, "low"),
            "4. close": price(i, "close"), "5. volume": str(volume(i))}


def alphavantage() -> FakeApi:
    fake = FakeApi("alphavantage", {
        "429": lambda: jsonify({"Information": AV_RATE_INFO}),  # Alpha Vantage says it with 200
        "note": lambda: jsonify({"Note": AV_RATE_NOTE}),
        "500": lambda: Response("<html><body>502 Bad Gateway</body></html>", 502,
                                mimetype="text/html"),
        "error": lambda: jsonify({"Error Message": "Invalid API call. Please retry or visit the "
                                  "documentation (https://www.alphavantage.co/documentation/) "
                                  "for TIME_SERIES_INTRADAY."}),
    })

    @fake.app.get("/query")
    def query() -> Any:
        a = request.args
        if a.get("apikey") != "av-key":
            return jsonify({"Error Message": "the parameter apikey is invalid or missing. "
                            "Please claim your free API key on "
                            "(https://www.alphavantage.co/support/#api-key)."})
        fn, sym = a["function"], a["symbol"]
        if sym == "NOPE":
            return jsonify({"Error Message": "Invalid API call. Please retry or visit the "
                            f"documentation (https://www.alphavantage.co/documentation/) for "
                            f"{fn}."})
        if fn == "TIME_SERIES_INTRADAY":
            interval = a["interval"]
            meta = {"1. Information": f"Intraday ({interval}) open, high, low, close prices and "
                    "volume", "2. Symbol": sym, "3. Last Refreshed": "2024-03-11 09:35:00",
                    "4. Interval": interval, "5. Output Size": "Full size",
                    "6. Time Zone": "US/Eastern"}
            series: dict[str, Any] = {}
            if sym != "EMPT" and a.get("month") == "2024-03":
                minutes = int(interval.removesuffix("min"))
                regular = a.get("extended_hours") == "false"
                for i, t in enumerate(intraday(minutes)):
                    if regular and t < OPEN:
                        continue
                    series[t.tz_convert("America/New_York").strftime("%Y-%m-%d %H:%M:%S")] = \
                        _av_bar(i)
                for j, stamp in enumerate(AV_EDT_BARS):
                    series[stamp] = _av_bar(100 + j)
            newest_first = dict(sorted(series.items(), reverse=True))
            return jsonify({"Meta Data": meta, f"Time Series ({interval})": newest_first})
        if fn == "TIME_SERIES_DAILY":
            if sym == "DEEP" and a["outputsize"] == "full":
                return jsonify({"Information": AV_PREMIUM})
            days = (list(pd.bdate_range(end="2024-03-06", periods=100).strftime("%Y-%m-%d"))
                    if sym == "DEEP" else [] if sym == "EMPT" else list(DAYS))
            return jsonify({"Meta Data": {"1. Information": "Daily Prices (open, high, low, "
                                          "close) and Volumes", "2. Symbol": sym,
                                          "3. Last Refreshed": "2024-03-06",
                                          "4. Output Size": "Compact",
                                          "5. Time Zone": "US/Eastern"},
                            "Time Series (Daily)": {d: _av_bar(i) for i, d in
                                                    reversed(list(enumerate(days)))}})
        if fn == "OVERVIEW":
            return jsonify({} if sym != "AAPL" else AV_OVERVIEW)
        if fn == "EARNINGS":
            return jsonify({"symbol": sym, "annualEarnings": [
                {"fiscalDateEnding": "2023-12-31", "reportedEPS": "6.46"}], "quarterlyEarnings": [
                {"fiscalDateEnding": "2023-12-31", "reportedDate": "2024-02-01",
                 "reportedEPS": "2.18", "estimatedEPS": "2.1", "surprise": "0.08",
                 "surprisePercentage": "3.8095", "reportTime": "post-market"},
                {"fiscalDateEnding": "2023-09-30", "reportedDate": "2023-11-02",
                 "reportedEPS": "1.46", "estimatedEPS": "1.39", "surprise": "0.07",
                 "surprisePercentage": "5.0360", "reportTime": "post-market"}]})
        return jsonify({"Error Message": f"Invalid API call: {fn}"})

    return fake


AV_OVERVIEW = {
    "Symbol": "AAPL", "AssetType": "Common Stock", "Name": "Apple Inc",
    "Description": "Apple Inc. is an American multinational technology company.",
    "CIK": "320193", "Exchange": "NASDAQ", "Currency": "USD", "Country": "USA",
    "Sector": "TECHNOLOGY", "Industry": "ELECTRONIC COMPUTERS", "FiscalYearEnd": "September",
    "LatestQuarter": "2023-12-31", "MarketCapitalization": "2629910839000",
    "EBITDA": "130108998000", "PERatio": "26.45", "PEGRatio": "2.112", "BookValue": "4.793",
    "DividendPerShare": "0.95", "DividendYield": "0.0056", "EPS": "6.43",
    "ProfitMargin": "0.262", "Beta": "1.29", "52WeekHigh": "199.18", "52WeekLow": "143.27",
    "SharesOutstanding": "15441900000", "SharesFloat": "15422600000",
    "DividendDate": "2024-02-15", "ExDividendDate": "2024-02-09", "ForwardPE": "None",
}


# -- Financial Modeling Prep -----------------------------------------------------------------
def fmp() -> FakeApi:
    def message(status: int, text: str) -> Any:
        return jsonify({"Error Message": text}), status

    fake = FakeApi("fmp", {
        "429": lambda: message(429, "Limit Reach . Please upgrade your plan or visit our "
                               "documentation for more details at "
                               "https://site.financialmodelingprep.com/"),
        "500": lambda: message(500, "Internal Server Error"),
        "error": lambda: message(403, "Legacy Endpoint : Due to Legacy endpoints being no "
                                 "longer supported - This endpoint is only available for "
                                 "legacy users who have valid subscriptions prior August 31, "
                                 "2025."),
    })

    @fake.app.before_request
    def _key() -> Any:
        if request.args.get("apikey") != "fmp-key":
            return message(401, "Invalid API KEY. Feel free to create a Free API Key or visit "
                           "https://site.financialmodelingprep.com/faqs?search=why-is-my-api-"
                           "key-invalid for more information.")
        return None

    def rows(symbol: str, make: Callable[[], list[Any]]) -> Any:
        return jsonify([] if symbol in ("NOPE", "EMPT") else make())

    @fake.app.get("/stable/historical-price-eod/full")
    def eod() -> Any:
        return rows(request.args["symbol"], lambda: [
            {"symbol": "AAPL", "date": d, **{k: float(price(i, k)) for k in
                                              ("open", "high", "low", "close")},
             "volume": volume(i), "change": 0.1, "changePercent": 0.05,
             "vwap": float(price(i, "close"))} for i, d in reversed(list(enumerate(DAYS)))])

    @fake.app.get("/stable/historical-chart/<interval>")
    def chart(interval: str) -> Any:
        if interval == "1min":
            return message(402, "Restricted Endpoint: This endpoint is not available under "
                           "your current subscription please visit our subscription page to "
                           "upgrade your plan at https://site.financialmodelingprep.com/"
                           "developer/docs/pricing")
        minutes = int(interval.removesuffix("min"))
        return rows(request.args["symbol"], lambda: [
            {"date": t.tz_convert("America/New_York").strftime("%Y-%m-%d %H:%M:%S"),
             **{k: float(price(i, k)) for k in ("open", "low", "high", "close")},
             "volume": volume(i)}
            for i, t in reversed(list(enumerate(intraday(minutes)))) if t >= OPEN])

    @fake.app.get("/stable/profile")
    def profile() -> Any:
        sym = request.args["symbol"]
        return Response("[]" if sym != "AAPL" else FMP_PROFILE_TEXT, mimetype="application/json")

    @fake.app.get("/stable/ratios-ttm")
    def ratios() -> Any:
        return Response("[]" if request.args["symbol"] != "AAPL" else FMP_RATIOS_TEXT,
                        mimetype="application/json")

    @fake.app.get("/stable/shares-float")
    def shares() -> Any:  # outside the free plan
        return message(402, "Restricted Endpoint: This endpoint is not available under your "
                       "current subscription.")

    @fake.app.get("/stable/earnings")
    def earnings() -> Any:
        return rows(request.args["symbol"], lambda: [
            {"symbol": "AAPL", "date": "2024-05-02", "epsActual": None, "epsEstimated": 1.5,
             "revenueActual": None, "revenueEstimated": 90010000000,
             "lastUpdated": "2024-03-04"},
            {"symbol": "AAPL", "date": "2024-02-01", "epsActual": 2.18, "epsEstimated": 2.1,
             "revenueActual": 119575000000, "revenueEstimated": 117910000000,
             "lastUpdated": "2024-02-02"},
            {"symbol": "AAPL", "date": "2023-11-02", "epsActual": 1.46, "epsEstimated": 1.39,
             "revenueActual": 89498000000, "revenueEstimated": 89280000000,
             "lastUpdated": "2023-11-03"}])

    return fake


FMP_PROFILE_TEXT = """[{"symbol": "AAPL", "price": 170.12, "marketCap": 2627985195008,
 "beta": 1.287, "lastDividend": 0.96, "range": "143.9-199.62", "change": -5.27,
 "changePercentage": -3.0048, "volume": 95132355, "averageVolume": 58405112,
 "companyName": "Apple Inc.", "currency": "USD", "cik": "0000320193",
 "isin": "US0378331005", "cusip": "037833100", "exchangeFullName": "NASDAQ Global Select",
 "exchange": "NASDAQ", "industry": "Consumer Electronics", "website": "https://www.apple.com",
 "description": "Apple Inc. designs smartphones and personal computers.",
 "ceo": "Mr. Timothy D. Cook", "sector": "Technology", "country": "US",
 "fullTimeEmployees": "161000", "ipoDate": "1980-12-12", "defaultImage": false,
 "isEtf": false, "isActivelyTrading": true, "isAdr": false, "isFund": false}]"""
FMP_RATIOS_TEXT = """[{"symbol": "AAPL", "grossProfitMarginTTM": 0.45586,
 "priceToEarningsRatioTTM": 26.4572, "priceToBookRatioTTM": 35.49,
 "dividendYieldTTM": 0.005629, "netIncomePerShareTTM": 6.43, "currentRatioTTM": 1.0731}]"""
