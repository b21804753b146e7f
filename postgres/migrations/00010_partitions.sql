-- Additive: time partitioning of record_history, opt in (rechist's
-- WithPartitions; nothing here partitions a table by itself). These are
-- functions and one table; rechist_partition_history is what converts.
--
--   rechist_partition     one row per partition rechist made: its time
--                         range [start_ms, end_ms) and its table. Listed
--                         here, not parsed from pg_class, so retention
--                         reads the ranges in one indexed query.
--   rechist_meta          'partition_width_ms': the width every partition
--                         has, aligned to the Unix epoch (UTC); absent when
--                         record_history is not partitioned.
--
-- Partitions are made on demand, for the times of the rows about to be
-- written (rechist_partitions_for): a device's backlog of old rows lands in
-- partitions made for it, so there is no default partition, and retention
-- can detach whole partitions CONCURRENTLY (which PostgreSQL refuses on a
-- table with a default partition). A partition is made as a table of its
-- own and then attached, which locks record_history in SHARE UPDATE
-- EXCLUSIVE mode only: reads and writes go on (CREATE TABLE ... PARTITION
-- OF would lock it in ACCESS EXCLUSIVE mode).
--
-- A whole partition older than retention's cutoff is emptied by
-- rechist_partition_truncate (the names table updated in the same
-- transaction), then detached CONCURRENTLY and dropped with
-- rechist_partition_drop (rows that arrived in between counted out in that
-- transaction): see postgres/partitions.go.

-- +goose Up
CREATE TABLE IF NOT EXISTS rechist_partition (
    start_ms   BIGINT PRIMARY KEY,
    end_ms     BIGINT NOT NULL,
    table_name TEXT NOT NULL UNIQUE
);

-- Every partition gets the table's autovacuum settings (migration 00008):
-- PostgreSQL keeps them per partition, not on the partitioned table.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION rechist_partitions_for(times BIGINT[]) RETURNS INTEGER
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    w BIGINT;
    s BIGINT;
    t TEXT;
    made INTEGER := 0;
BEGIN
    SELECT value::bigint INTO w FROM rechist_meta WHERE key = 'partition_width_ms';
    IF w IS NULL THEN
        RETURN 0;
    END IF;
    -- Two writers making the same partition take turns; the second finds
    -- it made.
    PERFORM pg_advisory_xact_lock(hashtext('rechist partitions ' || current_schema()));
    FOR s IN SELECT DISTINCT x - x % w FROM unnest(times) AS x WHERE x >= 0 ORDER BY 1 LOOP
        CONTINUE WHEN EXISTS (SELECT 1 FROM rechist_partition WHERE start_ms = s);
        t := 'record_history_' || to_char(to_timestamp(s / 1000.0) AT TIME ZONE 'UTC', 'YYYYMMDD"t"HH24MI');
        EXECUTE format('CREATE TABLE %I (LIKE record_history INCLUDING DEFAULTS) WITH ('
            'autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 10000, '
            'autovacuum_analyze_scale_factor = 0.01, autovacuum_analyze_threshold = 10000)', t);
        EXECUTE format('COMMENT ON TABLE %I IS %L', t, 'rechist partition of record_history');
        EXECUTE format('ALTER TABLE record_history ATTACH PARTITION %I FOR VALUES FROM (%s) TO (%s)', t, s, s + w);
        INSERT INTO rechist_partition (start_ms, end_ms, table_name) VALUES (s, s + w, t);
        made := made + 1;
    END LOOP;
    RETURN made;
END
$$;
-- +goose StatementEnd

-- Turns record_history into a table partitioned by stored_at in
-- partitions of width_ms, every row kept with its id (the identity goes on
-- from where it was), under an ACCESS EXCLUSIVE lock: a copy of every row,
-- minutes for tens of millions. The names table is untouched (the rows
-- are the same). Returns false, changing nothing, when the table already
-- is partitioned by width_ms; an error when by another width.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION rechist_partition_history(width_ms BIGINT) RETURNS BOOLEAN
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    have BIGINT;
    last_id BIGINT;
    seq TEXT;
BEGIN
    IF width_ms < 60000 OR width_ms % 60000 <> 0 THEN
        RAISE EXCEPTION 'a partition width must be whole minutes, got % ms', width_ms USING ERRCODE = '22023';
    END IF;
    LOCK TABLE record_history IN ACCESS EXCLUSIVE MODE;
    SELECT value::bigint INTO have FROM rechist_meta WHERE key = 'partition_width_ms';
    IF have IS NOT NULL THEN
        IF have <> width_ms THEN
            RAISE EXCEPTION 'record_history is partitioned by % ms, not % ms: a width cannot change', have, width_ms
                USING ERRCODE = '22023';
        END IF;
        RETURN false;
    END IF;
    IF (SELECT relkind FROM pg_class WHERE oid = 'record_history'::regclass) = 'p' THEN
        RAISE EXCEPTION 'record_history is partitioned, not by rechist' USING ERRCODE = '22023';
    END IF;
    seq := pg_get_serial_sequence('record_history', 'id');
    last_id := pg_sequence_last_value(seq::regclass);
    ALTER TABLE record_history RENAME TO rechist_unpartitioned;
    ALTER INDEX idx_record_time RENAME TO rechist_unpartitioned_time;
    ALTER INDEX idx_record_stored_at RENAME TO rechist_unpartitioned_stored_at;
    ALTER INDEX IF EXISTS record_history_pkey RENAME TO rechist_unpartitioned_pkey;
    EXECUTE format('ALTER SEQUENCE %s RENAME TO rechist_unpartitioned_id_seq', seq);
    -- The key must hold the partitioning column; ids stay unique, drawn
    -- from the one identity.
    CREATE TABLE record_history (
        id          BIGINT GENERATED ALWAYS AS IDENTITY,
        record_name TEXT COLLATE "C" NOT NULL,
        value_json  TEXT NOT NULL,
        stored_at   BIGINT NOT NULL,
        PRIMARY KEY (id, stored_at)
    ) PARTITION BY RANGE (stored_at);
    CREATE INDEX idx_record_time ON record_history (record_name, stored_at DESC, id DESC);
    CREATE INDEX idx_record_stored_at ON record_history (stored_at);
    IF last_id IS NOT NULL THEN
        PERFORM setval(pg_get_serial_sequence('record_history', 'id'), last_id);
    END IF;
    INSERT INTO rechist_meta (key, value) VALUES ('partition_width_ms', width_ms::text);
    PERFORM rechist_partitions_for(ARRAY(SELECT DISTINCT stored_at - stored_at % width_ms FROM rechist_unpartitioned));
    INSERT INTO record_history (id, record_name, value_json, stored_at) OVERRIDING SYSTEM VALUE
    SELECT id, record_name, value_json, stored_at FROM rechist_unpartitioned;
    DROP TABLE rechist_unpartitioned;
    -- The names table's triggers (migration 00007), on the new table.
    CREATE TRIGGER rechist_record_insert
    AFTER INSERT ON record_history
    REFERENCING NEW TABLE AS rechist_new
    FOR EACH STATEMENT EXECUTE FUNCTION rechist_record_added();
    CREATE TRIGGER rechist_record_delete
    AFTER DELETE ON record_history
    REFERENCING OLD TABLE AS rechist_old
    FOR EACH STATEMENT EXECUTE FUNCTION rechist_record_removed();
    CREATE TRIGGER rechist_record_update
    AFTER UPDATE ON record_history
    REFERENCING OLD TABLE AS rechist_old NEW TABLE AS rechist_new
    FOR EACH STATEMENT EXECUTE FUNCTION rechist_record_moved();
    CREATE TRIGGER rechist_record_truncate
    AFTER TRUNCATE ON record_history
    FOR EACH STATEMENT EXECUTE FUNCTION rechist_record_emptied();
    RETURN true;
END
$$;
-- +goose StatementEnd

-- Whether the table t is attached to record_history, half detached (a
-- DETACH ... CONCURRENTLY cut short), detached, or gone.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION rechist_partition_state(t TEXT) RETURNS TEXT
LANGUAGE sql STABLE SET search_path FROM CURRENT AS $$
    SELECT CASE
        WHEN to_regclass(quote_ident(t)) IS NULL THEN 'gone'
        WHEN NOT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = to_regclass(quote_ident(t))) THEN 'detached'
        WHEN (SELECT inhdetachpending FROM pg_inherits WHERE inhrelid = to_regclass(quote_ident(t))) THEN 'detaching'
        ELSE 'attached'
    END
$$;
-- +goose StatementEnd

-- Takes rows just removed from record_history out of the names table: per
-- record (names, ns, firsts, lasts in step) how many, and the times of the
-- oldest and newest. The records' rows are locked in name order first, as
-- migration 00007's rechist_record_removed did (which now calls this). An
-- edge that went with the rows is found again from the rows left: a
-- record's new oldest row from the old oldest on, its new newest from the
-- old newest back. On a partitioned table each search is bounded by times
-- known before it runs, window by window (two partitions, then four times
-- wider each time), so that PostgreSQL opens the partitions of the window
-- only: unbounded, every search opened every partition (0.3 ms a record
-- at 365 partitions, with the names' rows locked, so every writer waited).
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION rechist_record_gone(names TEXT[], ns BIGINT[], firsts BIGINT[], lasts BIGINT[]) RETURNS VOID
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    w BIGINT;
    lo BIGINT;
    hi BIGINT;
    span BIGINT;
    edge BIGINT;
BEGIN
    PERFORM 1 FROM rechist_record
    WHERE record_name = ANY(names)
    ORDER BY record_name
    FOR UPDATE;
    SELECT value::bigint INTO w FROM rechist_meta WHERE key = 'partition_width_ms';
    IF w IS NULL THEN
        UPDATE rechist_record AS r SET
            row_count = r.row_count - d.n,
            first_ms = CASE WHEN d.first_ms > r.first_ms THEN r.first_ms
                            ELSE (SELECT MIN(h.stored_at) FROM record_history AS h
                                  WHERE h.record_name = r.record_name AND h.stored_at >= d.first_ms) END,
            last_ms = CASE WHEN d.last_ms < r.last_ms THEN r.last_ms
                           ELSE (SELECT MAX(h.stored_at) FROM record_history AS h
                                 WHERE h.record_name = r.record_name AND h.stored_at <= d.last_ms) END
        FROM (SELECT unnest(names) AS record_name, unnest(ns) AS n, unnest(firsts) AS first_ms, unnest(lasts) AS last_ms) AS d
        WHERE r.record_name = d.record_name COLLATE "C";
        RETURN;
    END IF;
    -- The counts, the edges that stay, and those found in the first window
    -- (the partition of the gone rows' oldest or newest and the one after
    -- or before it), in one update of each record's row; NULL marks an
    -- edge still to find, further on.
    SELECT MIN(f) - MIN(f) % w INTO lo FROM unnest(firsts) AS f;
    SELECT MAX(l) - MAX(l) % w + w INTO hi FROM unnest(lasts) AS l;
    UPDATE rechist_record AS r SET
        row_count = r.row_count - d.n,
        first_ms = CASE WHEN d.first_ms > r.first_ms THEN r.first_ms
                        ELSE (SELECT MIN(h.stored_at) FROM record_history AS h
                              WHERE h.record_name = r.record_name AND h.stored_at >= d.first_ms
                                AND h.stored_at >= lo AND h.stored_at < lo + 2 * w) END,
        last_ms = CASE WHEN d.last_ms < r.last_ms THEN r.last_ms
                       ELSE (SELECT MAX(h.stored_at) FROM record_history AS h
                             WHERE h.record_name = r.record_name AND h.stored_at <= d.last_ms
                               AND h.stored_at >= hi - 2 * w AND h.stored_at < hi) END
    FROM (SELECT unnest(names) AS record_name, unnest(ns) AS n, unnest(firsts) AS first_ms, unnest(lasts) AS last_ms) AS d
    WHERE r.record_name = d.record_name COLLATE "C";
    edge := COALESCE((SELECT MAX(end_ms) FROM rechist_partition), 0);
    lo := lo + 2 * w;
    span := 8 * w;
    WHILE lo < edge AND EXISTS (SELECT 1 FROM rechist_record WHERE record_name = ANY(names) AND row_count > 0 AND first_ms IS NULL) LOOP
        UPDATE rechist_record AS r SET
            first_ms = (SELECT MIN(h.stored_at) FROM record_history AS h
                        WHERE h.record_name = r.record_name AND h.stored_at >= d.first_ms
                          AND h.stored_at >= lo AND h.stored_at < lo + span)
        FROM (SELECT unnest(names) AS record_name, unnest(firsts) AS first_ms) AS d
        WHERE r.record_name = d.record_name COLLATE "C" AND r.row_count > 0 AND r.first_ms IS NULL;
        lo := lo + span;
        span := span * 4;
    END LOOP;
    edge := COALESCE((SELECT MIN(start_ms) FROM rechist_partition), 0);
    hi := hi - 2 * w;
    span := 8 * w;
    WHILE hi > edge AND EXISTS (SELECT 1 FROM rechist_record WHERE record_name = ANY(names) AND row_count > 0 AND last_ms IS NULL) LOOP
        UPDATE rechist_record AS r SET
            last_ms = (SELECT MAX(h.stored_at) FROM record_history AS h
                       WHERE h.record_name = r.record_name AND h.stored_at <= d.last_ms
                         AND h.stored_at >= hi - span AND h.stored_at < hi)
        FROM (SELECT unnest(names) AS record_name, unnest(lasts) AS last_ms) AS d
        WHERE r.record_name = d.record_name COLLATE "C" AND r.row_count > 0 AND r.last_ms IS NULL;
        hi := hi - span;
        span := span * 4;
    END LOOP;
END
$$;
-- +goose StatementEnd

-- A DELETE's rows go through rechist_record_gone.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION rechist_record_removed() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    PERFORM rechist_record_gone(array_agg(record_name), array_agg(n), array_agg(first_ms), array_agg(last_ms))
    FROM (SELECT record_name, COUNT(*) AS n, MIN(stored_at) AS first_ms, MAX(stored_at) AS last_ms
          FROM rechist_old
          GROUP BY record_name) AS g;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- The rows of the partition table t per record, in step: names, counts,
-- oldest and newest times (all NULL when it has none): what
-- rechist_record_gone takes.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION rechist_partition_counts(t TEXT, OUT names TEXT[], OUT ns BIGINT[], OUT firsts BIGINT[], OUT lasts BIGINT[])
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    EXECUTE format('SELECT array_agg(record_name), array_agg(n), array_agg(first_ms), array_agg(last_ms) FROM ('
        'SELECT record_name, COUNT(*) AS n, MIN(stored_at) AS first_ms, MAX(stored_at) AS last_ms '
        'FROM %I GROUP BY record_name) AS g', t) INTO names, ns, firsts, lasts;
END
$$;
-- +goose StatementEnd

-- Empties the partition that starts at start_ms, in one transaction with
-- the names table's update: its records counted under a SHARE lock (reads
-- go on; a late row for it waits), then the partition locked ACCESS
-- EXCLUSIVE (only queries of its time range wait, for the truncation
-- itself) and truncated. Returns the rows it removed; -1 when it has no
-- such partition. The caller sets lock_timeout: a reader holding the
-- partition makes it fail with 55P03, and the chunked cleanup does the
-- rest.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION rechist_partition_truncate(part_start BIGINT) RETURNS BIGINT
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    t TEXT;
    names TEXT[];
    ns BIGINT[];
    firsts BIGINT[];
    lasts BIGINT[];
BEGIN
    SELECT table_name INTO t FROM rechist_partition WHERE start_ms = part_start;
    IF t IS NULL THEN
        RETURN -1;
    END IF;
    EXECUTE format('LOCK TABLE %I IN SHARE MODE', t);
    SELECT c.names, c.ns, c.firsts, c.lasts INTO names, ns, firsts, lasts FROM rechist_partition_counts(t) AS c;
    IF names IS NULL THEN
        RETURN 0;
    END IF;
    EXECUTE format('LOCK TABLE %I IN ACCESS EXCLUSIVE MODE', t);
    EXECUTE format('TRUNCATE %I', t);
    -- Every record's row changes: the names table locked whole, once, so
    -- the writers wait once for the update, rather than each for the rows
    -- of the records it writes, row by row behind each other.
    LOCK TABLE rechist_record IN SHARE ROW EXCLUSIVE MODE;
    PERFORM rechist_record_gone(names, ns, firsts, lasts);
    RETURN (SELECT SUM(x) FROM unnest(ns) AS x);
END
$$;
-- +goose StatementEnd

-- Drops a partition that DETACH ... CONCURRENTLY has taken out of
-- record_history, with the names table's update for rows that landed in it
-- after it was emptied. Returns the rows it dropped.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION rechist_partition_drop(part_start BIGINT) RETURNS BIGINT
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    t TEXT;
    names TEXT[];
    ns BIGINT[];
    firsts BIGINT[];
    lasts BIGINT[];
BEGIN
    SELECT table_name INTO t FROM rechist_partition WHERE start_ms = part_start FOR UPDATE;
    IF t IS NULL THEN
        RETURN 0;
    END IF;
    IF rechist_partition_state(t) <> 'gone' THEN
        EXECUTE format('LOCK TABLE %I IN ACCESS EXCLUSIVE MODE', t);
        IF rechist_partition_state(t) <> 'detached' THEN
            RAISE EXCEPTION 'partition % is still attached', t USING ERRCODE = '55000';
        END IF;
        SELECT c.names, c.ns, c.firsts, c.lasts INTO names, ns, firsts, lasts FROM rechist_partition_counts(t) AS c;
        IF names IS NOT NULL THEN
            PERFORM rechist_record_gone(names, ns, firsts, lasts);
        END IF;
        EXECUTE format('DROP TABLE %I', t);
    END IF;
    DELETE FROM rechist_partition WHERE start_ms = part_start;
    RETURN COALESCE((SELECT SUM(x) FROM unnest(ns) AS x), 0);
END
$$;
-- +goose StatementEnd

-- +goose Down
-- Refused on a partitioned table, which would be left without the
-- functions that make its partitions: it stays partitioned.
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM rechist_meta WHERE key = 'partition_width_ms') THEN
        RAISE EXCEPTION 'record_history is partitioned: migration 00010 cannot be rolled back' USING ERRCODE = '55000';
    END IF;
END
$$;
-- +goose StatementEnd
DROP FUNCTION IF EXISTS rechist_partition_drop(BIGINT);
DROP FUNCTION IF EXISTS rechist_partition_truncate(BIGINT);
DROP FUNCTION IF EXISTS rechist_partition_counts(TEXT);
-- Migration 00007's rechist_record_removed, as it was.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION rechist_record_removed() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    PERFORM 1 FROM rechist_record
    WHERE record_name IN (SELECT record_name FROM rechist_old)
    ORDER BY record_name
    FOR UPDATE;
    UPDATE rechist_record AS r SET
        row_count = r.row_count - d.n,
        first_ms = CASE WHEN d.first_ms > r.first_ms THEN r.first_ms
                        ELSE (SELECT MIN(h.stored_at) FROM record_history AS h
                              WHERE h.record_name = r.record_name
                                AND h.stored_at >= r.first_ms) END,
        last_ms = CASE WHEN d.last_ms < r.last_ms THEN r.last_ms
                       ELSE (SELECT MAX(h.stored_at) FROM record_history AS h
                             WHERE h.record_name = r.record_name
                               AND h.stored_at <= r.last_ms) END
    FROM (SELECT record_name, COUNT(*) AS n, MIN(stored_at) AS first_ms, MAX(stored_at) AS last_ms
          FROM rechist_old
          GROUP BY record_name) AS d
    WHERE r.record_name = d.record_name;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
DROP FUNCTION IF EXISTS rechist_record_gone(TEXT[], BIGINT[], BIGINT[], BIGINT[]);
DROP FUNCTION IF EXISTS rechist_partition_state(TEXT);
DROP FUNCTION IF EXISTS rechist_partition_history(BIGINT);
DROP FUNCTION IF EXISTS rechist_partitions_for(BIGINT[]);
DROP TABLE IF EXISTS rechist_partition;
