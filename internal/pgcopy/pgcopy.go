// Package pgcopy holds PostgreSQL's COPY formats as Sluice serves them over
// the client connection: the options of a COPY statement, and the rewriting
// of text and binary COPY FROM STDIN data into the CSV that DuckDB loads.
package pgcopy

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgcodec"
	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/sql"
)

// Options validates a COPY statement's options.
func Options(st *sql.Copy) (pgcodec.CopyOptions, error) {
	format := pgcodec.CopyText
	for _, o := range st.Options {
		if o.Key == "format" {
			switch strings.ToLower(o.Value.Text) {
			case "text":
			case "csv":
				format = pgcodec.CopyCSV
			case "binary":
				format = pgcodec.CopyBinary
			default:
				return pgcodec.CopyOptions{}, pgerr.InvalidParameter("COPY format %q not recognized", o.Value.Text)
			}
		}
	}
	opts := pgcodec.DefaultCopyOptions(format)
	oneByte := func(o sql.Option) (byte, error) {
		if len(o.Value.Text) != 1 {
			return 0, pgerr.New(pgerrcode.FeatureNotSupported, "COPY %s must be a single one-byte character", o.Key)
		}
		return o.Value.Text[0], nil
	}
	var err error
	for _, o := range st.Options {
		switch o.Key {
		case "format":
		case "header":
			if o.Value.Text == "match" {
				return opts, pgerr.Unsupported("COPY HEADER MATCH is not supported")
			}
			opts.Header = o.Value.Text == "true" || o.Value.Text == "1"
		case "delimiter":
			opts.Delimiter, err = oneByte(o)
		case "null":
			opts.Null = o.Value.Text
		case "quote":
			opts.Quote, err = oneByte(o)
		case "escape":
			opts.Escape, err = oneByte(o)
		case "encoding":
			if e := strings.ToLower(strings.ReplaceAll(o.Value.Text, "-", "")); e != "utf8" && e != "unicode" {
				err = pgerr.Unsupported("COPY encoding %q is not supported: Sluice speaks UTF8", o.Value.Text)
			}
		default:
			err = pgerr.Syntax(o.Pos, "option %q not recognized", o.Key)
		}
		if err != nil {
			return opts, err
		}
	}
	if opts.Header && format == pgcodec.CopyText {
		return opts, pgerr.Unsupported("COPY HEADER is available only in CSV mode")
	}
	if format == pgcodec.CopyBinary {
		for _, o := range st.Options {
			switch o.Key {
			case "delimiter", "null", "header", "quote", "escape":
				return opts, pgerr.Syntax(o.Pos, "cannot specify %s in BINARY mode", strings.ToUpper(o.Key))
			}
		}
	}
	return opts, nil
}

// Target returns the table's quoted name and column list.
func Target(st *sql.Copy) (table, cols string) {
	table = sql.QuoteIdent(st.Table.Name)
	if st.Table.Schema != "" {
		table = sql.QuoteIdent(st.Table.Schema) + "." + table
	}
	cols = "*"
	if len(st.Columns) > 0 {
		q := make([]string, len(st.Columns))
		for i, c := range st.Columns {
			q[i] = sql.QuoteIdent(c)
		}
		cols = strings.Join(q, ", ")
	}
	return table, cols
}

// TextToCSV rewrites PostgreSQL's text COPY format as CSV with every
// non-NULL value quoted and NULL as an empty unquoted field.
func TextToCSV(w *bufio.Writer, r io.Reader, ncols int, opts pgcodec.CopyOptions) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var field []byte
	for line := 1; ; line++ {
		raw, err := br.ReadBytes('\n')
		if len(raw) == 0 && err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		raw = bytes.TrimSuffix(bytes.TrimSuffix(raw, []byte("\n")), []byte("\r"))
		if string(raw) == `\.` {
			_, err := io.Copy(io.Discard, br)
			return err
		}
		fields := bytes.Split(raw, []byte{opts.Delimiter})
		// A delimiter escaped with a backslash splits too; rejoin.
		fields = rejoinEscaped(fields, opts.Delimiter)
		if len(fields) < ncols {
			return copyLineError(line, "missing data for column %d", len(fields)+1)
		}
		if len(fields) > ncols {
			return copyLineError(line, "extra data after last expected column")
		}
		for i, f := range fields {
			if i > 0 {
				w.WriteByte(',')
			}
			if string(f) == opts.Null {
				continue
			}
			field = unescapeText(field[:0], f)
			w.WriteByte('"')
			w.Write(bytes.ReplaceAll(field, []byte(`"`), []byte(`""`)))
			w.WriteByte('"')
		}
		w.WriteByte('\n')
		if err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

// BinaryToCSV rewrites PostgreSQL's binary COPY format as CSV with every
// non-NULL value quoted and NULL as an empty unquoted field. Each value is
// decoded by the OID its column is sent with and written as text that
// DuckDB casts to the column's type.
func BinaryToCSV(w *bufio.Writer, r io.Reader, cols []pgcodec.Column) error {
	br := pgcodec.NewBinaryCopyReader(r, len(cols))
	if err := br.ReadHeader(); err != nil {
		return err
	}
	var text []byte
	for {
		fields, ok, err := br.Next()
		if err != nil || !ok {
			return err
		}
		for i, f := range fields {
			if i > 0 {
				w.WriteByte(',')
			}
			if f == nil {
				continue
			}
			if text, err = pgcodec.AppendCastText(text[:0], cols[i].OID, f); err != nil {
				e := pgerr.As(err)
				e.Detail = fmt.Sprintf("COPY line %d, column %s", br.Row(), cols[i].Name)
				return e
			}
			w.WriteByte('"')
			for _, c := range text {
				if c == '"' {
					w.WriteByte('"')
				}
				w.WriteByte(c)
			}
			w.WriteByte('"')
		}
		w.WriteByte('\n')
	}
}

// rejoinEscaped joins fields split at a delimiter preceded by an odd
// number of backslashes (an escaped delimiter).
func rejoinEscaped(fields [][]byte, delim byte) [][]byte {
	out := fields[:0]
	for i := 0; i < len(fields); i++ {
		f := fields[i]
		for trailingBackslashes(f)%2 == 1 && i+1 < len(fields) {
			i++
			f = append(append(append([]byte{}, f...), delim), fields[i]...)
		}
		out = append(out, f)
	}
	return out
}

func trailingBackslashes(b []byte) int {
	n := 0
	for i := len(b) - 1; i >= 0 && b[i] == '\\'; i-- {
		n++
	}
	return n
}

// unescapeText decodes the text format's backslash sequences.
func unescapeText(dst, f []byte) []byte {
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '\\' || i+1 == len(f) {
			dst = append(dst, c)
			continue
		}
		i++
		switch c = f[i]; c {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'v':
			dst = append(dst, '\v')
		case 'x':
			v, k := 0, 0
			for ; k < 2 && i+1 < len(f) && isHex(f[i+1]); k++ {
				i++
				d, _ := strconv.ParseUint(string(f[i]), 16, 8)
				v = v*16 + int(d)
			}
			if k == 0 {
				dst = append(dst, 'x')
			} else {
				dst = append(dst, byte(v))
			}
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := int(c - '0')
			for k := 0; k < 2 && i+1 < len(f) && f[i+1] >= '0' && f[i+1] <= '7'; k++ {
				i++
				v = v*8 + int(f[i]-'0')
			}
			dst = append(dst, byte(v))
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func copyLineError(line int, format string, args ...any) error {
	e := pgerr.New(pgerrcode.BadCopyFileFormat, format, args...)
	e.Detail = "COPY line " + strconv.Itoa(line)
	return e
}
