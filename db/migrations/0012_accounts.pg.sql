-- PostgreSQL's form of 0012's triggers: pt_book per account (0003's trigger went with the old
-- pt_orders table).
CREATE OR REPLACE FUNCTION pt_book_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'DELETE' THEN
        UPDATE pt_book SET version = version + 1, reserved_micros = reserved_micros
            + CASE WHEN NEW.status IN ('new', 'accepted', 'partially_filled')
                   THEN NEW.reserve_micros ELSE 0 END
            - CASE WHEN TG_OP = 'UPDATE' AND OLD.status IN ('new', 'accepted', 'partially_filled')
                   THEN OLD.reserve_micros ELSE 0 END
        WHERE id = NEW.account;
    ELSE
        UPDATE pt_book SET version = version + 1, reserved_micros = reserved_micros
            - CASE WHEN OLD.status IN ('new', 'accepted', 'partially_filled')
                   THEN OLD.reserve_micros ELSE 0 END
        WHERE id = OLD.account;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER tr_pt_orders_book AFTER INSERT OR UPDATE OR DELETE ON pt_orders
    FOR EACH ROW EXECUTE FUNCTION pt_book_follow();
