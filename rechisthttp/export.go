package rechisthttp

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/jsonl"
	"github.com/seed178a96f3/rechist/internal/rowcsv"
)

// serveExport streams the rows of a range as CSV or JSON Lines in the
// library's order: by record name, newest first, the later store first
// among equal times.
//
// The rows are read in bounded snapshots (exportRows) and written to the
// client only between them, so a slow client never holds a database
// snapshot or connection: on SQLite an open snapshot keeps the WAL from
// starting over for the whole download. It holds its slot (acquire) until
// the answer is done; a client that stops reading is cut by the write
// deadline. The export is not bounded by the query timeout: it runs as
// long as its client reads.
func (h *Handler) serveExport(w http.ResponseWriter, r *http.Request) error {
	p, err := h.readParams(r, false)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	var ctype, ext string
	switch format {
	case "csv":
		ctype, ext = "text/csv; charset=utf-8", "csv"
	case "jsonl", "":
		format, ctype, ext = "jsonl", "application/jsonl", "jsonl"
	default:
		return badRequest("format %q: want csv or jsonl", format)
	}
	release, err := h.acquire(r)
	if err != nil {
		return err
	}
	defer release()
	ctx := r.Context()
	infos, err := h.db.Records(ctx, p.pattern)
	if err != nil {
		return err
	}

	w.Header().Set("Content-Type", ctype)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Disposition", `attachment; filename="rechist-export.`+ext+`"`)
	cw := h.newClientWriter(w, nil)
	bw := bufio.NewWriterSize(cw, 64<<10)
	csvw := csv.NewWriter(bw)
	enc := jsonl.NewEncoder(bw) // ingest's input: {"name","value","at"}
	if format == "csv" {
		_ = csvw.Write(rowcsv.Header)
	}
	err = h.exportRows(ctx, p, infos, func(rec rechist.Record[json.RawMessage]) error {
		if format == "csv" {
			return csvw.Write(rowcsv.Fields(rec, time.UTC))
		}
		return enc.Encode(rec)
	})
	if err == nil {
		csvw.Flush()
		err = csvw.Error()
	}
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = cw.finish()
	}
	switch {
	case err == nil:
		return nil
	case !cw.wrote: // nothing sent yet: an error status still can be
		w.Header().Del("Content-Disposition")
		return err
	}
	return fmt.Errorf("%w: %w", errStarted, err)
}

// exportRows calls emit with the rows of each record of infos within p's
// range, in All's order, with memory bounded by one window of rows.
//
// Each record's range is read in windows of descending time, each one All
// query (one snapshot) of its own, emitted once the query has ended. The
// first window starts as wide as the record's row count suggests for
// windowRows rows; a window that would hold more than windowRows rows or
// windowBytes bytes is given up and halved, one with few rows doubles the
// next. Windows end on whole milliseconds, so the order within a record is
// All's; only a single millisecond holding more rows than the bound is
// kept whole. The first window reaches the end of the request's range and
// the last its start, so rows stored beyond the span Records saw while
// the export runs are not missed between windows; like any rows stored
// meanwhile, they may or may not be included.
func (h *Handler) exportRows(ctx context.Context, p params, infos []rechist.RecordInfo, emit func(rechist.Record[json.RawMessage]) error) error {
	var buf []rechist.Record[json.RawMessage]
	rows := int64(h.cfg.windowRows)
	for _, info := range infos {
		lo, hi, ok := p.span(info)
		if !ok {
			continue
		}
		width := hi - lo + 1
		if info.Rows > rows {
			width = max(1, width/(info.Rows/rows+1))
		}
		top, first := hi, true
		for {
			wlo := lo
			if width-1 < top-lo {
				wlo = top - width + 1
			}
			q := rechist.QueryParams{Start: time.UnixMilli(wlo), End: time.UnixMilli(top)}
			if first {
				q.End = p.end
			}
			if wlo == lo {
				q.Start = p.start
			}
			buf = buf[:0]
			bytes, full := 0, false
			// A name read as a pattern is that record alone, unless it holds
			// '*' (or a topic wildcard): other records' rows are skipped.
			for rec, err := range h.raw.All(ctx, info.Name, q) {
				if err != nil {
					return err
				}
				if rec.Name != info.Name {
					continue
				}
				buf = append(buf, rec)
				bytes += len(rec.Value) + len(rec.Name)
				if (len(buf) > h.cfg.windowRows || bytes > h.cfg.windowBytes) && wlo < top {
					full = true
					break
				}
			}
			if full {
				width = max(1, (top-wlo+1)/2)
				continue
			}
			for _, rec := range buf {
				if err := emit(rec); err != nil {
					return err
				}
			}
			if wlo == lo {
				break
			}
			if len(buf) <= h.cfg.windowRows/2 && width < math.MaxInt64/2 {
				width *= 2
			}
			top, first = wlo-1, false
		}
	}
	return ctx.Err()
}
