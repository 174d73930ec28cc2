-- Nullable, so the column is safe to add while older instances still run (expand, then contract).
ALTER TABLE tasks ADD COLUMN due_date DATE;
CREATE INDEX tasks_open_due_idx ON tasks (due_date) WHERE NOT done;
