-- An order's creation event lives in its own row: ``initial_status`` is the status it was
-- submitted with, ``created_at`` the time and the reason is 'submitted'.  A submission used to
-- insert that event into pt_order_events as well, which dirtied two more pages (the events
-- table and its order_id index) in every submission's commit, about a fifth of what the
-- commit wrote.  Orders created before this migration (initial_status NULL) and orders made
-- by a replace keep their creation event in pt_order_events.
ALTER TABLE pt_orders ADD COLUMN initial_status TEXT;

-- Every status event of every order, the creation first: what pt_order_events alone held.
CREATE VIEW pt_order_history AS
    SELECT id AS order_id, initial_status AS status, 'submitted' AS reason, created_at AS at,
           0 AS kind, seq AS n
    FROM pt_orders WHERE initial_status IS NOT NULL
    UNION ALL
    SELECT order_id, status, reason, at, 1 AS kind, id AS n FROM pt_order_events;
