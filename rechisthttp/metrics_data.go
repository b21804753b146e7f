package rechisthttp

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/seed178a96f3/rechist"
)

// defaultMetricsRecords is how many records, and sync sources, get series
// of their own in /metrics unless WithMetricsRecords says otherwise.
const defaultMetricsRecords = 10

// dataReadTimeout bounds the database reads of one scrape of /metrics.
// They read the names table (a row a record) and the sync cursors (a row
// a source), never the history, so they normally take milliseconds; the
// bound keeps a slow disk or a locked server from holding a scrape.
const dataReadTimeout = 5 * time.Second

// WithMetricsRecords sets how many records get a series of their own in
// /metrics (default 10): the n records with the most rows, as
// rechist_record_newest_row_timestamp_seconds{record} and
// rechist_record_rows{record}, and the n sync sources that sent the most
// rows, as rechist_sync_*{source}. The set is stable (a record that stops
// being written keeps its series, so an alert on its age fires) and the
// number of series never grows with the number of records or sources;
// the unlabelled totals cover them all. n <= 0 turns the labelled series
// off.
func WithMetricsRecords(n int) Option {
	return func(c *config) { c.metricsRecords = max(n, 0) }
}

// dataCollector reads what the database holds at each scrape: the totals
// and the top records from DB.Summary (the names table, a row a record)
// and the sync sources from DB.SyncSources (a row a source).
type dataCollector struct {
	db     *rechist.DB
	n      int
	logger *slog.Logger
	// postgres: FileBytes is the table's size with its indexes, and there
	// is no WAL nor free-page count to show.
	postgres bool
	errors   atomic.Int64
}

var (
	dataRows = prometheus.NewDesc("rechist_stored_rows",
		"Rows stored now, from the names table the database's triggers keep (not counted at each scrape).", nil, nil)
	dataRecords = prometheus.NewDesc("rechist_stored_records",
		"Records holding rows now.", nil, nil)
	dataOldest = prometheus.NewDesc("rechist_oldest_row_timestamp_seconds",
		"Time of the oldest stored row (absent when there are none).", nil, nil)
	dataNewest = prometheus.NewDesc("rechist_newest_row_timestamp_seconds",
		"Time of the newest stored row, of any record (absent when there are none).", nil, nil)
	dataFileBytes = prometheus.NewDesc("rechist_db_file_bytes",
		"Size of the SQLite database file; on PostgreSQL, of the history table with its indexes and partitions.", nil, nil)
	dataWALBytes = prometheus.NewDesc("rechist_db_wal_bytes",
		"Size of the SQLite write-ahead log (SQLite only).", nil, nil)
	dataFreeBytes = prometheus.NewDesc("rechist_db_free_bytes",
		"Free space inside the SQLite file that deleted rows left, which compact gives back (SQLite only).", nil, nil)
	recordNewest = prometheus.NewDesc("rechist_record_newest_row_timestamp_seconds",
		"Time of the record's newest row, for the records with the most rows (at most N: WithMetricsRecords, rechist serve --metrics-records).", []string{"record"}, nil)
	recordRows = prometheus.NewDesc("rechist_record_rows",
		"Rows the record holds, for the records with the most rows (at most N: WithMetricsRecords, rechist serve --metrics-records).", []string{"record"}, nil)
	syncSources = prometheus.NewDesc("rechist_sync_sources",
		"Sync sources this database receives rows from (not those taken over by a new identity).", nil, nil)
	syncReceived = prometheus.NewDesc("rechist_sync_received_rows_total",
		"Rows received by sync from all sources, since each one's first sync.", nil, nil)
	syncOldestBatch = prometheus.NewDesc("rechist_sync_oldest_last_batch_timestamp_seconds",
		"The oldest of the sources' last batch times: time() minus it is the lag of the most behind source (absent without sources).", nil, nil)
	syncRows = prometheus.NewDesc("rechist_sync_rows_total",
		"Rows received by sync from the source since its first sync, for the sources that sent the most (at most N: WithMetricsRecords, rechist serve --metrics-records).", []string{"source"}, nil)
	syncMissed = prometheus.NewDesc("rechist_sync_missed_rows_total",
		"Source ids passed over without a row (deleted on the source before they were sent), by source, for the same sources.", []string{"source"}, nil)
	syncLastBatch = prometheus.NewDesc("rechist_sync_last_batch_timestamp_seconds",
		"When the last batch from the source committed here, for the same sources: time() minus it is the source's lag.", []string{"source"}, nil)
	dataErrors = prometheus.NewDesc("rechist_metrics_read_errors_total",
		"Scrapes whose reads of the stored data failed or timed out (their data gauges were left out).", nil, nil)
	dataDuration = prometheus.NewDesc("rechist_metrics_read_duration_seconds",
		"Time this scrape spent reading the stored data (names table and sync cursors).", nil, nil)
)

// countData adds the data gauges of db, with series of their own for at
// most n records and n sync sources.
func (m *metrics) countData(db *rechist.DB, n int, logger *slog.Logger) {
	p := db.Path()
	pg := strings.HasPrefix(p, "postgres://") || strings.HasPrefix(p, "postgresql://")
	m.reg.MustRegister(&dataCollector{db: db, n: n, logger: logger, postgres: pg})
}

func (c *dataCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{dataRows, dataRecords, dataOldest, dataNewest, dataFileBytes, dataWALBytes, dataFreeBytes,
		recordNewest, recordRows, syncSources, syncReceived, syncOldestBatch, syncRows, syncMissed, syncLastBatch, dataErrors, dataDuration} {
		ch <- d
	}
}

func (c *dataCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), dataReadTimeout)
	defer cancel()
	start := time.Now()
	err := c.collectSummary(ctx, ch)
	if serr := c.collectSync(ctx, ch); err == nil {
		err = serr
	}
	if err != nil {
		c.errors.Add(1)
		c.logger.Warn("rechisthttp: metrics: reading the stored data failed", slog.Any("error", err))
	}
	ch <- prometheus.MustNewConstMetric(dataDuration, prometheus.GaugeValue, time.Since(start).Seconds())
	ch <- prometheus.MustNewConstMetric(dataErrors, prometheus.CounterValue, float64(c.errors.Load()))
}

// collectSummary sends the totals and the top records.
func (c *dataCollector) collectSummary(ctx context.Context, ch chan<- prometheus.Metric) error {
	s, err := c.db.Summary(ctx, c.n)
	if err != nil {
		return fmt.Errorf("metrics summary: %w", err)
	}
	ch <- prometheus.MustNewConstMetric(dataRows, prometheus.GaugeValue, float64(s.Rows))
	ch <- prometheus.MustNewConstMetric(dataRecords, prometheus.GaugeValue, float64(s.Records))
	if s.Rows > 0 {
		ch <- prometheus.MustNewConstMetric(dataOldest, prometheus.GaugeValue, seconds(s.Oldest))
		ch <- prometheus.MustNewConstMetric(dataNewest, prometheus.GaugeValue, seconds(s.Newest))
	}
	if c.postgres || s.FileBytes > 0 { // an in-memory SQLite database has no file
		ch <- prometheus.MustNewConstMetric(dataFileBytes, prometheus.GaugeValue, float64(s.FileBytes))
	}
	if !c.postgres {
		ch <- prometheus.MustNewConstMetric(dataWALBytes, prometheus.GaugeValue, float64(s.WALBytes))
		ch <- prometheus.MustNewConstMetric(dataFreeBytes, prometheus.GaugeValue, float64(s.FreeBytes))
	}
	for _, r := range s.Top[:min(len(s.Top), c.n)] {
		c.send(ch, recordNewest, seconds(r.Newest), prometheus.GaugeValue, r.Name)
		c.send(ch, recordRows, float64(r.Rows), prometheus.GaugeValue, r.Name)
	}
	return nil
}

// collectSync sends the sync sources' totals, and the series of the n
// sources that sent the most rows. Sources taken over by a new identity
// take no more pushes: they count in the rows received, nowhere else.
func (c *dataCollector) collectSync(ctx context.Context, ch chan<- prometheus.Metric) error {
	all, err := c.db.SyncSources(ctx)
	if err != nil {
		return fmt.Errorf("metrics sync sources: %w", err)
	}
	var received int64
	var active []rechist.SyncStatus
	var oldest time.Time
	for _, s := range all {
		received += s.Sent
		if s.ContinuedBy != "" {
			continue
		}
		active = append(active, s)
		if !s.Updated.IsZero() && (oldest.IsZero() || s.Updated.Before(oldest)) {
			oldest = s.Updated
		}
	}
	ch <- prometheus.MustNewConstMetric(syncSources, prometheus.GaugeValue, float64(len(active)))
	ch <- prometheus.MustNewConstMetric(syncReceived, prometheus.CounterValue, float64(received))
	if !oldest.IsZero() {
		ch <- prometheus.MustNewConstMetric(syncOldestBatch, prometheus.GaugeValue, seconds(oldest))
	}
	slices.SortFunc(active, func(a, b rechist.SyncStatus) int {
		return cmp.Or(cmp.Compare(b.Sent, a.Sent), strings.Compare(a.Source, b.Source))
	})
	for _, s := range active[:min(len(active), c.n)] {
		c.send(ch, syncRows, float64(s.Sent), prometheus.CounterValue, s.Source)
		c.send(ch, syncMissed, float64(s.Missed), prometheus.CounterValue, s.Source)
		if !s.Updated.IsZero() {
			c.send(ch, syncLastBatch, seconds(s.Updated), prometheus.GaugeValue, s.Source)
		}
	}
	return nil
}

// send sends one labelled metric; a label the exposition cannot carry (a
// name that is not UTF-8) leaves it out.
func (c *dataCollector) send(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, kind prometheus.ValueType, label string) {
	m, err := prometheus.NewConstMetric(d, kind, v, label)
	if err != nil {
		c.logger.Debug("rechisthttp: metrics: series left out", slog.String("label", label), slog.Any("error", err))
		return
	}
	ch <- m
}

// seconds is t as Unix seconds, with its milliseconds.
func seconds(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }
