package postgres

import (
	"math"
	"strconv"
	"strings"
)

// Partition pruning by constants. PostgreSQL leaves out a partitioned
// table's partitions at plan time only by constants: a statement whose
// time bounds are parameters is either planned anew at every execution (a
// custom plan: 0.18 ms for one record's newest rows at 363 partitions,
// where one table reuses its cached plan in 0.05 ms) or, cached, opens
// every partition at every execution (0.14 ms). So the reads of one
// record's rows carry, beside their exact bounds as parameters, the same
// bounds widened to whole partitions as constants in the statement's text,
// in place of the prune_lo and prune_hi markers of the .sql files. The
// text stays the same for as long as a read asks for the same partitions
// (from the one before the current one on, for a record's newest rows; a
// dashboard's day), so pgx's statement cache keeps it prepared and
// PostgreSQL a plan that names only those partitions: 0.055 ms in the same
// measurement. A range asked once costs a statement prepared once. Such a
// statement names one record, not an array of them: with unnest over an
// array PostgreSQL expects ten names of a cached plan and one of a fresh
// one, and so plans anew every time. The stepped walk over many records
// (reader.latestStepped) keeps its bounds as parameters: its windows
// differ from record to record, and a text per window would prepare a
// statement per window. On a table that is not partitioned the markers
// stay as they are (the whole bigint range: always true).
const (
	pruneLo = "/* prune_lo */ (-9223372036854775808)::bigint"
	pruneHi = "/* prune_hi */ (9223372036854775807)::bigint"
)

// pruned returns query with its pruning markers set to [loMs, hiMs]
// widened to whole partitions of widthMs; query unchanged when widthMs is
// 0 (not partitioned).
func pruned(query string, widthMs, loMs, hiMs int64) string {
	if widthMs <= 0 {
		return query
	}
	lo, hi := partitionSpan(widthMs, loMs, hiMs)
	query = strings.Replace(query, pruneLo, "/* prune_lo */ ("+strconv.FormatInt(lo, 10)+")::bigint", 1)
	return strings.Replace(query, pruneHi, "/* prune_hi */ ("+strconv.FormatInt(hi, 10)+")::bigint", 1)
}

// partitionSpan widens [loMs, hiMs] to the partitions of widthMs (aligned
// to the Unix epoch) that hold it: from the start of loMs's partition to
// the last millisecond of hiMs's, either end left at the bigint range's
// end when the partition's bound would pass it.
func partitionSpan(widthMs, loMs, hiMs int64) (int64, int64) {
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	if loMs >= math.MinInt64+widthMs {
		lo = loMs - mod(loMs, widthMs)
	}
	if hiMs <= math.MaxInt64-widthMs {
		hi = hiMs - mod(hiMs, widthMs) + widthMs - 1
	}
	return lo, hi
}

// mod is a modulo w, in [0, w) for negative a too.
func mod(a, w int64) int64 {
	return ((a % w) + w) % w
}
