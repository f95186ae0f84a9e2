-- Paper trading: account, orders and their events, fills, positions, the cash ledger,
-- per-symbol fill watermarks, day trades, per-session risk state and the event feed.
-- Written only by the paper_trading service.  Money and quantities are INTEGER micro-units.

-- The one simulated account.  cash_micros is kept in step with the ledger in the same
-- transaction (cash = start + sum(ledger)); epoch counts resets.
CREATE TABLE pt_account (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    account_id TEXT NOT NULL,
    account_number TEXT NOT NULL,
    start_cash_micros INTEGER NOT NULL,
    cash_micros INTEGER NOT NULL,
    epoch INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    reset_at TEXT
);

-- No AUTOINCREMENT on the tables a submission writes (orders, their events, the feed): their
-- rows are never deleted, so rowids only grow anyway, and AUTOINCREMENT would add a write to
-- sqlite_sequence to every submission's transaction.
CREATE TABLE pt_orders (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    client_order_id TEXT NOT NULL UNIQUE,
    parent_id TEXT,
    leg TEXT CHECK (leg IN ('entry', 'take_profit', 'stop_loss')),
    symbol TEXT NOT NULL,
    asset_id TEXT NOT NULL,
    side TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
    type TEXT NOT NULL CHECK (type IN ('market', 'limit', 'stop', 'stop_limit', 'trailing_stop')),
    time_in_force TEXT NOT NULL CHECK (time_in_force IN ('day', 'gtc', 'ioc', 'fok', 'opg', 'cls')),
    order_class TEXT NOT NULL CHECK (order_class IN ('simple', 'bracket', 'oco', 'oto')),
    qty_micros INTEGER CHECK (qty_micros IS NULL OR qty_micros > 0),
    notional_micros INTEGER CHECK (notional_micros IS NULL OR notional_micros > 0),
    filled_qty_micros INTEGER NOT NULL DEFAULT 0,
    filled_notional_micros INTEGER NOT NULL DEFAULT 0,
    limit_price_micros INTEGER,
    stop_price_micros INTEGER,
    trail_price_micros INTEGER,
    trail_percent_micros INTEGER,
    hwm_micros INTEGER,
    triggered INTEGER NOT NULL DEFAULT 0,
    evaluated INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    extended_hours INTEGER NOT NULL DEFAULT 0,
    position_intent TEXT,
    active_from TEXT NOT NULL,      -- bars opening at or after this may fill the order
    expires_at TEXT,                -- day orders: the session close
    target_bar TEXT,                -- opg/cls: the bar the auction fills on
    commission_micros INTEGER NOT NULL DEFAULT 0,
    reserve_micros INTEGER NOT NULL DEFAULT 0,  -- buying power held while working
    reason TEXT,
    source TEXT NOT NULL DEFAULT 'api',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    filled_at TEXT,
    canceled_at TEXT,
    expired_at TEXT,
    failed_at TEXT,
    replaced_at TEXT,
    replaced_by TEXT,
    replaces TEXT,
    -- the two times above as integer epoch seconds for the sweep's numpy pre-screen, computed
    -- by SQLite on write; expires_s is rounded up so "expires_s <= bar open" stays exact
    active_from_s INTEGER GENERATED ALWAYS AS (unixepoch(active_from)) STORED,
    expires_s INTEGER GENERATED ALWAYS AS (
        unixepoch(expires_at) + (substr(expires_at, 21, 6) > '000000')) STORED,
    CHECK (qty_micros IS NOT NULL OR notional_micros IS NOT NULL)
);
CREATE INDEX ix_pt_orders_status_symbol ON pt_orders (status, symbol);
CREATE INDEX ix_pt_orders_status_expires ON pt_orders (status, expires_at)
    WHERE expires_at IS NOT NULL;
-- partial indexes: simple orders (most of them) and gtc orders add no entry to these
CREATE INDEX ix_pt_orders_parent ON pt_orders (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX ix_pt_orders_submitted ON pt_orders (submitted_at);

-- Every status transition with its clock time and reason.
CREATE TABLE pt_order_events (
    id INTEGER PRIMARY KEY,
    order_id TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    at TEXT NOT NULL
);
CREATE INDEX ix_pt_order_events_order ON pt_order_events (order_id);

-- One row per fill; (order_id, bar_ts) is unique so a bar can never fill an order twice.
CREATE TABLE pt_fills (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id TEXT NOT NULL,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
    qty_micros INTEGER NOT NULL CHECK (qty_micros > 0),
    price_micros INTEGER NOT NULL CHECK (price_micros > 0),
    commission_micros INTEGER NOT NULL DEFAULT 0,
    opening_micros INTEGER NOT NULL DEFAULT 0,
    closing_micros INTEGER NOT NULL DEFAULT 0,
    realized_pl_micros INTEGER NOT NULL DEFAULT 0,
    bar_ts TEXT NOT NULL,
    filled_at TEXT NOT NULL,
    session TEXT,
    epoch INTEGER NOT NULL,
    UNIQUE (order_id, bar_ts)
);
CREATE INDEX ix_pt_fills_symbol_session ON pt_fills (symbol, session);

CREATE TABLE pt_positions (
    symbol TEXT PRIMARY KEY,
    asset_id TEXT NOT NULL,
    qty_micros INTEGER NOT NULL,
    avg_entry_price_micros INTEGER NOT NULL,
    realized_pl_micros INTEGER NOT NULL DEFAULT 0,
    opened_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Every cash movement.
CREATE TABLE pt_ledger (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('fill', 'commission', 'reset')),
    amount_micros INTEGER NOT NULL,
    order_id TEXT,
    fill_id INTEGER,
    at TEXT NOT NULL,
    note TEXT
);

-- The working book's summary, kept by the triggers below in the same transaction as every
-- order write: version moves on each write (so a process may keep the pre-screen arrays in
-- memory and reload them only when it moved) and reserved_micros is the buying power held by
-- working orders (the sum of reserve_micros over new/accepted/partially_filled orders), so an
-- order submission reads one row instead of summing the book.
CREATE TABLE pt_book (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL,
    reserved_micros INTEGER NOT NULL
);
INSERT INTO pt_book (id, version, reserved_micros) VALUES (1, 0, 0);

CREATE TRIGGER tr_pt_orders_insert AFTER INSERT ON pt_orders BEGIN
    UPDATE pt_book SET version = version + 1, reserved_micros = reserved_micros
        + CASE WHEN NEW.status IN ('new', 'accepted', 'partially_filled')
               THEN NEW.reserve_micros ELSE 0 END
    WHERE id = 1;
END;
CREATE TRIGGER tr_pt_orders_update AFTER UPDATE ON pt_orders BEGIN
    UPDATE pt_book SET version = version + 1, reserved_micros = reserved_micros
        + CASE WHEN NEW.status IN ('new', 'accepted', 'partially_filled')
               THEN NEW.reserve_micros ELSE 0 END
        - CASE WHEN OLD.status IN ('new', 'accepted', 'partially_filled')
               THEN OLD.reserve_micros ELSE 0 END
    WHERE id = 1;
END;
CREATE TRIGGER tr_pt_orders_delete AFTER DELETE ON pt_orders BEGIN
    UPDATE pt_book SET version = version + 1, reserved_micros = reserved_micros
        - CASE WHEN OLD.status IN ('new', 'accepted', 'partially_filled')
               THEN OLD.reserve_micros ELSE 0 END
    WHERE id = 1;
END;

-- Bars of a symbol at or before processed_through were already evaluated against its orders.
CREATE TABLE pt_watermarks (
    symbol TEXT PRIMARY KEY,
    processed_through TEXT NOT NULL
);

CREATE TABLE pt_day_trades (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    symbol TEXT NOT NULL,
    session TEXT NOT NULL,
    order_id TEXT NOT NULL,
    at TEXT NOT NULL,
    UNIQUE (order_id, session)
);
CREATE INDEX ix_pt_day_trades_session ON pt_day_trades (session);

-- Risk state per session: equity at its start, entries taken, halts and the flatten.
CREATE TABLE pt_sessions (
    session TEXT PRIMARY KEY,
    start_equity_micros INTEGER NOT NULL,
    entries INTEGER NOT NULL DEFAULT 0,
    halted INTEGER NOT NULL DEFAULT 0,
    halt_reason TEXT,
    flattened INTEGER NOT NULL DEFAULT 0
);

-- Order and fill events for subscribers (Server-Sent Events at /api/v1/events/stream).
CREATE TABLE trade_events (
    id INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL
);
