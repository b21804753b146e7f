package main

import (
	"bufio"
	"strings"
	"unicode/utf8"
)

// tableChunk is how many rows a table holds before it prints them: the
// columns are aligned within each chunk, so memory stays bounded however
// many rows a query streams.
const tableChunk = 1000

// table prints aligned columns, two spaces apart, the last one unpadded.
// It keeps at most tableChunk rows: their widths set the columns, and a
// column never narrows in a later chunk, so a long result stays aligned
// unless a later row is wider than every row before it.
type table struct {
	w      *bufio.Writer
	widths []int
	rows   [][]string
}

func newTable(w *bufio.Writer, header ...string) *table {
	t := &table{w: w, widths: make([]int, len(header))}
	t.add(header...)
	return t
}

// add queues one row, printing the queued ones when the chunk is full.
func (t *table) add(cells ...string) error {
	t.rows = append(t.rows, cells)
	if len(t.rows) >= tableChunk {
		return t.flush()
	}
	return nil
}

// flush prints the queued rows and the bufio.Writer.
func (t *table) flush() error {
	for _, row := range t.rows {
		for i, c := range row[:len(row)-1] {
			t.widths[i] = max(t.widths[i], utf8.RuneCountInString(c))
		}
	}
	for _, row := range t.rows {
		last := len(row) - 1
		for i, c := range row[:last] {
			t.w.WriteString(c)
			t.w.WriteString(strings.Repeat(" ", t.widths[i]-utf8.RuneCountInString(c)+2))
		}
		t.w.WriteString(row[last])
		t.w.WriteByte('\n')
	}
	clear(t.rows)
	t.rows = t.rows[:0]
	return t.w.Flush()
}
