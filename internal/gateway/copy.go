package gateway

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgcodec"
	"github.com/sluice-db/sluice/internal/pgcopy"
	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/pgcatalog"
	"github.com/sluice-db/sluice/sql"
	"github.com/sluice-db/sluice/wire"
)

// COPY over the client connection.
//
// COPY ... TO STDOUT streams the query's Arrow batches through the wire
// layer's COPY encoder (text, csv or binary).
//
// COPY ... FROM STDIN streams the client's data into a temporary file in
// the data directory's tmp (text and binary formats are rewritten to CSV on
// the way: binary values are decoded by the OIDs the table's columns map
// to), then loads it with one INSERT ... SELECT FROM read_csv(...): one
// statement, so bad data (22P02, 22P04) leaves the table unchanged. Memory
// stays flat; disk holds one copy of the data until the statement ends.

func (s *session) copy(ctx context.Context, st *sql.Copy, w wire.ResultWriter) (*cursor, error) {
	opts, err := pgcopy.Options(st)
	if err != nil {
		return nil, err
	}
	if st.From {
		defer s.g.writes.Add(1) // after the rows are in (answers.go)
		return s.copyIn(ctx, st, opts, w)
	}
	query := st.Query
	if st.Table != nil {
		table, cols := pgcopy.Target(st)
		query = "SELECT " + cols + " FROM " + table
	} else {
		query = pgcatalog.Resolve(query)
	}
	s.beginRead()
	res, err := s.conn.Run(ctx, query)
	if err != nil {
		return nil, err
	}
	if res.Rows == nil {
		return nil, pgerr.New(pgerrcode.WrongObjectType, "COPY query must return rows")
	}
	return &cursor{s: s, rows: res.Rows, copyOut: &opts, tagFor: func(n int64) string { return fmt.Sprintf("COPY %d", n) }}, nil
}

func (s *session) copyIn(ctx context.Context, st *sql.Copy, opts pgcodec.CopyOptions, w wire.ResultWriter) (*cursor, error) {
	table, cols := pgcopy.Target(st)
	s.beginRead()
	rows, err := s.conn.Query(ctx, "SELECT "+cols+" FROM "+table+" LIMIT 0")
	if err != nil {
		return nil, err
	}
	columns := rows.Columns()
	n := len(columns)
	rows.Close()
	r, err := w.CopyIn(n, opts.Format)
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(s.g.opts.TempDir, "copy-*.csv")
	if err != nil {
		return nil, pgerr.Wrap(pgerrcode.IOError, err)
	}
	defer os.Remove(f.Name())
	bw := bufio.NewWriterSize(f, 256<<10)
	switch opts.Format {
	case pgcodec.CopyText:
		err = pgcopy.TextToCSV(bw, r, n, opts)
	case pgcodec.CopyBinary:
		err = pgcopy.BinaryToCSV(bw, r, columns)
	default:
		_, err = io.Copy(bw, r)
	}
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	csv := opts
	if opts.Format != pgcodec.CopyCSV {
		csv = pgcodec.DefaultCopyOptions(pgcodec.CopyCSV)
	}
	types := make([]string, n)
	for i := range types {
		types[i] = fmt.Sprintf("'c%d': 'VARCHAR'", i)
	}
	load := fmt.Sprintf("INSERT INTO %s (%s) SELECT * FROM read_csv(%s, header = %t, delim = %s, quote = %s, escape = %s, nullstr = %s, "+
		"allow_quoted_nulls = false, auto_detect = false, strict_mode = true, columns = {%s})",
		table, cols, sql.QuoteLiteral(f.Name()), csv.Header, sql.QuoteLiteral(string(csv.Delimiter)),
		sql.QuoteLiteral(string(csv.Quote)), sql.QuoteLiteral(string(csv.Escape)), sql.QuoteLiteral(csv.Null), strings.Join(types, ", "))
	if len(st.Columns) == 0 {
		load = strings.Replace(load, " (*) SELECT", " SELECT", 1)
	}
	affected, err := s.conn.Exec(ctx, load)
	if err != nil {
		return nil, err
	}
	return s.done(fmt.Sprintf("COPY %d", affected)), nil
}
