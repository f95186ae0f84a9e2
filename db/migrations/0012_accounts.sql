-- Paper accounts: one per Alpaca key id (APCA-API-KEY-ID), plus the suite's automation.
-- Account 1 is the automation's (the one account of before, kept with its orders and fills;
-- a client sees it on /v2 under the key id 'automation'); every other account belongs to one
-- key id, created on first use or with
-- `hybrid_manager.py accounts create`.  Every paper-trading row carries its account, and
-- everything an account owns (orders by client_order_id, positions, the ledger, the book's
-- reserve, risk sessions, day trades) is keyed by it.  Written only by paper_trading.

CREATE TABLE pt_accounts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    key_id TEXT UNIQUE,               -- APCA-API-KEY-ID ('automation' for account 1)
    secret_hash TEXT,                 -- pbkdf2 of the secret when one was set (accounts create)
    account_id TEXT NOT NULL,         -- Alpaca's account UUID
    account_number TEXT NOT NULL,
    start_cash_micros INTEGER NOT NULL,
    cash_micros INTEGER NOT NULL,
    epoch INTEGER NOT NULL DEFAULT 0,
    config TEXT NOT NULL DEFAULT '{}',  -- Alpaca's account configurations (JSON)
    created_at TEXT NOT NULL,
    reset_at TEXT
);
INSERT INTO pt_accounts (id, name, key_id, account_id, account_number, start_cash_micros,
                         cash_micros, epoch, created_at, reset_at)
    SELECT 1, 'automation', 'automation', account_id, account_number, start_cash_micros, cash_micros,
           epoch, created_at, reset_at FROM pt_account;
DROP TABLE pt_account;

-- Orders: client_order_id is unique per account (as at Alpaca), not across the suite.
DROP TRIGGER tr_pt_orders_insert;
DROP TRIGGER tr_pt_orders_update;
DROP TRIGGER tr_pt_orders_delete;
DROP VIEW pt_order_history;
CREATE TABLE pt_orders_new (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    account INTEGER NOT NULL DEFAULT 1,
    client_order_id TEXT NOT NULL,
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
    active_from TEXT NOT NULL,
    expires_at TEXT,
    target_bar TEXT,
    commission_micros INTEGER NOT NULL DEFAULT 0,
    reserve_micros INTEGER NOT NULL DEFAULT 0,
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
    active_from_s INTEGER GENERATED ALWAYS AS (unixepoch(active_from)) STORED,
    expires_s INTEGER GENERATED ALWAYS AS (
        unixepoch(expires_at) + (substr(expires_at, 21, 6) > '000000')) STORED,
    initial_status TEXT,
    CHECK (qty_micros IS NOT NULL OR notional_micros IS NOT NULL),
    UNIQUE (account, client_order_id)
);
INSERT INTO pt_orders_new (
    seq, id, account, client_order_id, parent_id, leg, symbol, asset_id, side, type,
    time_in_force, order_class, qty_micros, notional_micros, filled_qty_micros,
    filled_notional_micros, limit_price_micros, stop_price_micros, trail_price_micros,
    trail_percent_micros, hwm_micros, triggered, evaluated, status, extended_hours,
    position_intent, active_from, expires_at, target_bar, commission_micros, reserve_micros,
    reason, source, created_at, updated_at, submitted_at, filled_at, canceled_at, expired_at,
    failed_at, replaced_at, replaced_by, replaces, initial_status)
SELECT seq, id, 1, client_order_id, parent_id, leg, symbol, asset_id, side, type,
    time_in_force, order_class, qty_micros, notional_micros, filled_qty_micros,
    filled_notional_micros, limit_price_micros, stop_price_micros, trail_price_micros,
    trail_percent_micros, hwm_micros, triggered, evaluated, status, extended_hours,
    position_intent, active_from, expires_at, target_bar, commission_micros, reserve_micros,
    reason, source, created_at, updated_at, submitted_at, filled_at, canceled_at, expired_at,
    failed_at, replaced_at, replaced_by, replaces, initial_status
FROM pt_orders;
DROP TABLE pt_orders;
ALTER TABLE pt_orders_new RENAME TO pt_orders;
CREATE INDEX ix_pt_orders_status_symbol ON pt_orders (status, symbol);
CREATE INDEX ix_pt_orders_status_expires ON pt_orders (status, expires_at)
    WHERE expires_at IS NOT NULL;
CREATE INDEX ix_pt_orders_parent ON pt_orders (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX ix_pt_orders_submitted ON pt_orders (account, submitted_at);

CREATE VIEW pt_order_history AS
    SELECT id AS order_id, initial_status AS status, 'submitted' AS reason, created_at AS at,
           0 AS kind, seq AS n
    FROM pt_orders WHERE initial_status IS NOT NULL
    UNION ALL
    SELECT order_id, status, reason, at, 1 AS kind, id AS n FROM pt_order_events;

-- The working book's summary per account (version and reserve, kept by trigger).  The sum of
-- the versions moves on every order write of any account (the fill sweep's cache key).
DROP TABLE pt_book;
CREATE TABLE pt_book (
    id INTEGER PRIMARY KEY,           -- the account
    version INTEGER NOT NULL,
    reserved_micros INTEGER NOT NULL
);
INSERT INTO pt_book (id, version, reserved_micros)
    SELECT a.id, 0, COALESCE((SELECT SUM(reserve_micros) FROM pt_orders o
                              WHERE o.account = a.id
                                AND o.status IN ('new', 'accepted', 'partially_filled')), 0)
    FROM pt_accounts a;
INSERT OR IGNORE INTO pt_book (id, version, reserved_micros) VALUES (1, 0, 0);

CREATE TRIGGER tr_pt_orders_insert AFTER INSERT ON pt_orders BEGIN
    UPDATE pt_book SET version = version + 1, reserved_micros = reserved_micros
        + CASE WHEN NEW.status IN ('new', 'accepted', 'partially_filled')
               THEN NEW.reserve_micros ELSE 0 END
    WHERE id = NEW.account;
END;
CREATE TRIGGER tr_pt_orders_update AFTER UPDATE ON pt_orders BEGIN
    UPDATE pt_book SET version = version + 1, reserved_micros = reserved_micros
        + CASE WHEN NEW.status IN ('new', 'accepted', 'partially_filled')
               THEN NEW.reserve_micros ELSE 0 END
        - CASE WHEN OLD.status IN ('new', 'accepted', 'partially_filled')
               THEN OLD.reserve_micros ELSE 0 END
    WHERE id = NEW.account;
END;
CREATE TRIGGER tr_pt_orders_delete AFTER DELETE ON pt_orders BEGIN
    UPDATE pt_book SET version = version + 1, reserved_micros = reserved_micros
        - CASE WHEN OLD.status IN ('new', 'accepted', 'partially_filled')
               THEN OLD.reserve_micros ELSE 0 END
    WHERE id = OLD.account;
END;

-- Positions per account.
CREATE TABLE pt_positions_new (
    account INTEGER NOT NULL DEFAULT 1,
    symbol TEXT NOT NULL,
    asset_id TEXT NOT NULL,
    qty_micros INTEGER NOT NULL,
    avg_entry_price_micros INTEGER NOT NULL,
    realized_pl_micros INTEGER NOT NULL DEFAULT 0,
    opened_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (account, symbol)
);
INSERT INTO pt_positions_new (account, symbol, asset_id, qty_micros, avg_entry_price_micros,
                              realized_pl_micros, opened_at, updated_at)
    SELECT 1, symbol, asset_id, qty_micros, avg_entry_price_micros, realized_pl_micros,
           opened_at, updated_at FROM pt_positions;
DROP TABLE pt_positions;
ALTER TABLE pt_positions_new RENAME TO pt_positions;

-- Risk state per account and session.
CREATE TABLE pt_sessions_new (
    account INTEGER NOT NULL DEFAULT 1,
    session TEXT NOT NULL,
    start_equity_micros INTEGER NOT NULL,
    entries INTEGER NOT NULL DEFAULT 0,
    halted INTEGER NOT NULL DEFAULT 0,
    halt_reason TEXT,
    flattened INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account, session)
);
INSERT INTO pt_sessions_new (account, session, start_equity_micros, entries, halted,
                             halt_reason, flattened)
    SELECT 1, session, start_equity_micros, entries, halted, halt_reason, flattened
    FROM pt_sessions;
DROP TABLE pt_sessions;
ALTER TABLE pt_sessions_new RENAME TO pt_sessions;

ALTER TABLE pt_fills ADD COLUMN account INTEGER NOT NULL DEFAULT 1;
CREATE INDEX ix_pt_fills_account ON pt_fills (account, id);
ALTER TABLE pt_ledger ADD COLUMN account INTEGER NOT NULL DEFAULT 1;
CREATE INDEX ix_pt_ledger_account ON pt_ledger (account, id);
ALTER TABLE pt_day_trades ADD COLUMN account INTEGER NOT NULL DEFAULT 1;
DROP INDEX ix_pt_day_trades_session;
CREATE INDEX ix_pt_day_trades_session ON pt_day_trades (account, session);
ALTER TABLE trade_events ADD COLUMN account INTEGER NOT NULL DEFAULT 1;

-- Alpaca watchlists, per account.
CREATE TABLE pt_watchlists (
    id TEXT PRIMARY KEY,
    account INTEGER NOT NULL,
    name TEXT NOT NULL,
    symbols TEXT NOT NULL DEFAULT '[]',   -- JSON list, in the order given
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (account, name)
);
