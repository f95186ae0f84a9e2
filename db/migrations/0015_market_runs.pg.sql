-- PostgreSQL's form of 0015's triggers: a new workflow row is tagged with the clock's run
-- (BEFORE INSERT sets the column, where SQLite's AFTER INSERT trigger updated the row).
CREATE OR REPLACE FUNCTION suite_tag_market_run() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.market_run := COALESCE((SELECT run FROM market_clock WHERE id = 1), 1);
    RETURN NEW;
END $$;
CREATE TRIGGER tr_coord_runs_market_run BEFORE INSERT ON coord_runs
    FOR EACH ROW EXECUTE FUNCTION suite_tag_market_run();
CREATE TRIGGER tr_decision_ledger_market_run BEFORE INSERT ON decision_ledger
    FOR EACH ROW EXECUTE FUNCTION suite_tag_market_run();
