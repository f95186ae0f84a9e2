-- PostgreSQL's form of 0003's triggers (the rest of 0003 is translated by shared/db/dialect.py):
-- pt_book follows every order write in the same transaction.
CREATE OR REPLACE FUNCTION pt_book_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE pt_book SET version = version + 1, reserved_micros = reserved_micros
        + CASE WHEN TG_OP <> 'DELETE' AND NEW.status IN ('new', 'accepted', 'partially_filled')
               THEN NEW.reserve_micros ELSE 0 END
        - CASE WHEN TG_OP <> 'INSERT' AND OLD.status IN ('new', 'accepted', 'partially_filled')
               THEN OLD.reserve_micros ELSE 0 END
    WHERE id = 1;
    RETURN NULL;
END $$;
CREATE TRIGGER tr_pt_orders_book AFTER INSERT OR UPDATE OR DELETE ON pt_orders
    FOR EACH ROW EXECUTE FUNCTION pt_book_follow();
