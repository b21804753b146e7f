-- Autovacuum sized for retention: by default PostgreSQL vacuums a table
-- once 20% of its rows are dead. An hourly cleanup of a long history
-- deletes far less than that each time (a day of a year is 0.3%), so dead
-- rows piled up across runs, every index scan of the time index read them
-- again, and their space was never reused. At 1% (and at least 10,000
-- rows) a vacuum follows any sizeable cleanup within autovacuum's naptime
-- (a minute by default), and the space it frees takes new rows.
-- Statistics follow the same way, so the planner sees the new time span.

-- A partitioned table (migration 00010) keeps these per partition, where
-- PostgreSQL refuses them on the partitioned table: this migration then
-- leaves it alone, when it is rolled back and applied again.

-- +goose Up
-- +goose StatementBegin
DO $$
BEGIN
    IF (SELECT relkind FROM pg_class WHERE oid = 'record_history'::regclass) <> 'p' THEN
        ALTER TABLE record_history SET (
            autovacuum_vacuum_scale_factor = 0.01,
            autovacuum_vacuum_threshold = 10000,
            autovacuum_analyze_scale_factor = 0.01,
            autovacuum_analyze_threshold = 10000
        );
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
DO $$
BEGIN
    IF (SELECT relkind FROM pg_class WHERE oid = 'record_history'::regclass) <> 'p' THEN
        ALTER TABLE record_history RESET (
            autovacuum_vacuum_scale_factor,
            autovacuum_vacuum_threshold,
            autovacuum_analyze_scale_factor,
            autovacuum_analyze_threshold
        );
    END IF;
END
$$;
-- +goose StatementEnd
