-- Queries that call rechist_merge_block, a function the SQLite engine
-- registers with the driver (repo/mergefunc.go). sqlc's own SQLite does not
-- have it, so this package is generated without a database (sqlc.yaml): a
-- query here is checked by the tests that run it, not by sqlc vet.

-- name: MergeTierBlock :exec
-- A block's new buckets added to the stored block (no read first), or the
-- block stored where there is none. rechist_merge_block is core's
-- MergeBlockData, a function the engine registers with the driver.
INSERT INTO rechist_tier_block (block_key, data)
VALUES (CAST(@block_key AS INTEGER), CAST(@data AS BLOB))
ON CONFLICT (block_key) DO UPDATE SET data = rechist_merge_block(data, excluded.data);

-- name: MergeTierBlocks8 :exec
-- MergeTierBlock eight blocks a statement.
INSERT INTO rechist_tier_block (block_key, data) VALUES
    (CAST(@k1 AS INTEGER), CAST(@d1 AS BLOB)),
    (CAST(@k2 AS INTEGER), CAST(@d2 AS BLOB)),
    (CAST(@k3 AS INTEGER), CAST(@d3 AS BLOB)),
    (CAST(@k4 AS INTEGER), CAST(@d4 AS BLOB)),
    (CAST(@k5 AS INTEGER), CAST(@d5 AS BLOB)),
    (CAST(@k6 AS INTEGER), CAST(@d6 AS BLOB)),
    (CAST(@k7 AS INTEGER), CAST(@d7 AS BLOB)),
    (CAST(@k8 AS INTEGER), CAST(@d8 AS BLOB))
ON CONFLICT (block_key) DO UPDATE SET data = rechist_merge_block(data, excluded.data);
