package gateway

// Running SQL inside the process as a role, for the admin listener: the
// status page reads and refreshes through a session of the logged-in role,
// so it sees and may do exactly what that role may over the wire.

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluice-db/sluice/internal/pgcodec"
	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/materialize"
	"github.com/sluice-db/sluice/wire"
)

// Result is what a statement run with QueryAs returned, in PostgreSQL's
// text format (what psql prints).
type Result struct {
	Columns []string
	Rows    [][]*string // nil: SQL NULL
	Tag     string
	Notices []*pgerr.Error
}

// QueryAs runs query (one or more statements, the simple protocol) as
// role, through a session of its own that is closed afterwards: the role's
// privileges, the sandbox and the system tables' row filters apply as
// they do over the wire. The rows of the last statement that returned
// rows are returned; an error is a *pgerr.Error with its SQLSTATE.
func (g *Gateway) QueryAs(ctx context.Context, role, query string) (*Result, error) {
	s, err := g.NewSession(ctx, wire.StartupInfo{User: role, Database: DatabaseName,
		Params: map[string]string{"user": role, "database": DatabaseName, "application_name": "sluice-admin"}})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	w := &collector{}
	if err := s.SimpleQuery(ctx, query, w); err != nil {
		return nil, err
	}
	return &w.res, nil
}

// Running returns the refreshes and pipeline runs in flight with what each
// has written so far (materialize.Running). It is not filtered by role:
// the status page shows only the runs whose sluice.runs row the
// logged-in role reads through QueryAs.
func (g *Gateway) Running() []materialize.RunProgress { return g.mat.Running() }

// Ready reports why the gateway cannot serve (nil when it can): the
// catalog must be open, DuckDB must answer, and the scheduler must run.
func (g *Gateway) Ready(ctx context.Context) error {
	if g.cat == nil {
		return errors.New("the catalog is not open")
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var one int
	if err := g.db.SQL().QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return errors.New("DuckDB does not answer: " + err.Error())
	}
	if g.schedDone == nil {
		return errors.New("the scheduler has not started")
	}
	select {
	case <-g.schedDone:
		return errors.New("the scheduler has stopped")
	default:
	}
	return nil
}

// collector is a ResultWriter that keeps the rows as text.
type collector struct {
	res Result
	enc *pgcodec.RowEncoder
	buf []byte
}

func (c *collector) Columns(cols []pgcodec.Column) error {
	enc, err := pgcodec.NewRowEncoder(cols, nil)
	if err != nil {
		return err
	}
	c.enc = enc
	c.res.Columns = c.res.Columns[:0]
	c.res.Rows = nil
	for _, col := range cols {
		c.res.Columns = append(c.res.Columns, col.Name)
	}
	return nil
}

// Rows decodes the DataRow messages the encoder writes.
func (c *collector) Rows(rec arrow.RecordBatch) error {
	var err error
	if c.buf, err = c.enc.AppendDataRows(c.buf[:0], rec); err != nil {
		return err
	}
	b := c.buf
	for len(b) > 0 {
		n := int(binary.BigEndian.Uint32(b[1:5]))
		msg := b[5 : 1+n]
		b = b[1+n:]
		nc := int(binary.BigEndian.Uint16(msg[:2]))
		msg = msg[2:]
		row := make([]*string, nc)
		for i := range nc {
			l := int32(binary.BigEndian.Uint32(msg[:4]))
			msg = msg[4:]
			if l < 0 {
				continue
			}
			v := string(msg[:l])
			row[i] = &v
			msg = msg[l:]
		}
		c.res.Rows = append(c.res.Rows, row)
	}
	return nil
}

func (c *collector) Complete(tag string) error { c.res.Tag = tag; return nil }
func (c *collector) EmptyQuery() error         { return nil }
func (c *collector) Notice(n *pgerr.Error) error {
	c.res.Notices = append(c.res.Notices, n)
	return nil
}
func (c *collector) ParameterStatus(name, value string) error { return nil }

func (c *collector) CopyOut(cols []pgcodec.Column, opts pgcodec.CopyOptions) error {
	return pgerr.Unsupported("COPY is not available here")
}

func (c *collector) CopyIn(ncols int, format pgcodec.CopyFormat) (io.Reader, error) {
	return nil, pgerr.Unsupported("COPY is not available here")
}
