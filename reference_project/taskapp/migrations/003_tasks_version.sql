-- A counter that every change to tasks bumps in the same transaction. The app keeps the pages it rendered with
-- the counter they were read at, and on a read asks only for the counter: one row instead of rendering a page.
-- Additive (a new table and trigger), so instances of the previous release keep working during a deploy, and
-- their writes bump the counter too. Writers briefly queue on the one row; this app's writes are few.
CREATE TABLE tasks_version (
    one     BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
    version BIGINT NOT NULL
);
INSERT INTO tasks_version (one, version) VALUES (TRUE, 0);
CREATE FUNCTION bump_tasks_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tasks_version SET version = version + 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER tasks_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tasks
    FOR EACH STATEMENT EXECUTE FUNCTION bump_tasks_version();
