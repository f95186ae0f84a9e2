-- Candlestick detections with their walk-forward outcomes (written only by pattern_recognition)
-- and news articles with sentiment (written only by news).

-- One row per candlestick pattern firing on one bar.  ts is the bar's open time; the pattern is
-- known once the bar closes (visible_at).  direction is +1 bullish / -1 bearish; value is
-- TA-Lib's raw output (+-100, or +-200 for confirmed patterns).
CREATE TABLE candle_detections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    symbol TEXT NOT NULL,
    timeframe TEXT NOT NULL,
    ts TEXT NOT NULL,
    visible_at TEXT NOT NULL,
    pattern TEXT NOT NULL,
    direction INTEGER NOT NULL CHECK (direction IN (-1, 1)),
    value INTEGER NOT NULL,
    strength REAL NOT NULL,
    close_micros INTEGER NOT NULL,
    tod_bucket TEXT NOT NULL,
    detected_at TEXT NOT NULL,
    -- 1 once every configured horizon has its outcome (keeps the pending scan small)
    complete INTEGER NOT NULL DEFAULT 0,
    UNIQUE (symbol, timeframe, ts, pattern)
);
CREATE INDEX ix_candle_detections_pending ON candle_detections (symbol, timeframe, ts)
    WHERE complete = 0;
CREATE INDEX ix_candle_detections_pattern ON candle_detections (pattern, timeframe, ts);
CREATE INDEX ix_candle_detections_symbol ON candle_detections (symbol, timeframe, ts);

-- The k-bar forward return of one detection, written once bar t+k has closed (available_at).
-- ret is close[t+k]/close[t] - 1; signed_ret is ret times the detection's direction.
CREATE TABLE candle_outcomes (
    detection_id INTEGER NOT NULL REFERENCES candle_detections (id) ON DELETE CASCADE,
    horizon INTEGER NOT NULL CHECK (horizon > 0),
    ret REAL NOT NULL,
    signed_ret REAL NOT NULL,
    available_at TEXT NOT NULL,
    PRIMARY KEY (detection_id, horizon)
) WITHOUT ROWID;
CREATE INDEX ix_candle_outcomes_available ON candle_outcomes (horizon, available_at);

-- How far each (symbol, timeframe) has been processed: the last bar scanned for patterns.
CREATE TABLE candle_progress (
    symbol TEXT NOT NULL,
    timeframe TEXT NOT NULL,
    last_bar_ts TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (symbol, timeframe)
) WITHOUT ROWID;

-- News articles in the columns Alpaca's /v1beta1/news answers with (paper_trading reads this
-- table read-only to serve that path).  symbols is a JSON array; dedup_key is the hash of the
-- normalised headline (a duplicate within news.dedup_window_hours is merged into the first
-- copy and counted in duplicate_count).
CREATE TABLE news (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    headline TEXT NOT NULL,
    summary TEXT NOT NULL DEFAULT '',
    author TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL,
    url TEXT,
    symbols TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    content TEXT NOT NULL DEFAULT '',
    sentiment_score REAL NOT NULL,
    sentiment_label TEXT NOT NULL CHECK (sentiment_label IN ('positive', 'negative', 'neutral')),
    dedup_key TEXT NOT NULL,
    external_id TEXT,
    origin TEXT NOT NULL,
    event_type TEXT,
    duplicate_count INTEGER NOT NULL DEFAULT 0,
    -- when the facts behind the story became visible (>= created_at only for generated
    -- stories); readers show a row once both created_at and known_at have passed
    known_at TEXT NOT NULL,
    ingested_at TEXT NOT NULL
);
CREATE INDEX ix_news_created ON news (created_at);
CREATE INDEX ix_news_dedup ON news (dedup_key, created_at);
CREATE INDEX ix_news_external ON news (external_id);

-- One row per (article, symbol) so per-symbol queries and aggregates use an index.
CREATE TABLE news_symbols (
    news_id INTEGER NOT NULL REFERENCES news (id) ON DELETE CASCADE,
    symbol TEXT NOT NULL,
    created_at TEXT NOT NULL,
    known_at TEXT NOT NULL,
    PRIMARY KEY (symbol, created_at, news_id)
) WITHOUT ROWID;
CREATE INDEX ix_news_symbols_news ON news_symbols (news_id);

-- Ranges of (source, symbol) already pulled, so a refresh only asks for what is new.
CREATE TABLE news_fetch_log (
    origin TEXT NOT NULL,
    symbol TEXT NOT NULL,
    fetched_until TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (origin, symbol)
) WITHOUT ROWID;
