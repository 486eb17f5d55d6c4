package wire

// The extended query protocol: Parse, Bind, Describe, Execute, Sync, Close.

import (
	"context"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/sluice-db/sluice/internal/pgcodec"
	"github.com/sluice-db/sluice/internal/pgerr"
)

// parse handles Parse: it prepares a named or the unnamed statement.
func (c *conn) parse(ctx context.Context, sess Session, m *pgproto3.Parse) error {
	name, query := m.Name, m.Query
	if name != "" {
		if _, ok := c.stmts[name]; ok {
			return pgerr.New(pgerrcode.DuplicatePreparedStatement, "prepared statement %q already exists", name)
		}
	} else if err := c.dropStatement(""); err != nil {
		return err
	}
	oids := append([]uint32(nil), m.ParameterOIDs...)
	var st Statement
	err := c.withQuery(ctx, func(ctx context.Context) (err error) {
		st, err = sess.Prepare(ctx, query, oids)
		return err
	})
	if err != nil {
		return err
	}
	if err := checkParamCount(st); err != nil {
		return err
	}
	c.stmts[name] = st
	c.out.send(&pgproto3.ParseComplete{})
	return nil
}

// bind handles Bind: it creates a named or the unnamed portal.
func (c *conn) bind(ctx context.Context, m *pgproto3.Bind) error {
	st, ok := c.stmts[m.PreparedStatement]
	if !ok {
		return pgerr.New(pgerrcode.InvalidSQLStatementName, "prepared statement %q does not exist", m.PreparedStatement)
	}
	name := m.DestinationPortal
	if name != "" {
		if _, ok := c.portals[name]; ok {
			return pgerr.New(pgerrcode.DuplicateCursor, "portal %q already exists", name)
		}
	} else if err := c.dropPortal(""); err != nil {
		return err
	}
	paramFormats, params, err := bindParams(m, len(st.ParamOIDs()), m.PreparedStatement)
	if err != nil {
		return err
	}
	resultFormats := append([]int16(nil), m.ResultFormatCodes...)
	if err := checkFormatCodes(resultFormats); err != nil {
		return err
	}

	var p Portal
	err = c.withQuery(ctx, func(ctx context.Context) (err error) {
		p, err = st.Bind(ctx, paramFormats, params)
		return err
	})
	if err != nil {
		return err
	}
	if _, err := expandFormats(resultFormats, len(p.Columns())); err != nil {
		if cerr := p.Close(); cerr != nil {
			c.log.Debug("closing portal", "err", cerr)
		}
		return err
	}
	c.portals[name] = &portal{p: p, rw: resultWriter{out: c.out, in: c.be, formats: resultFormats}}
	c.out.send(&pgproto3.BindComplete{})
	return nil
}

// bindParams validates Bind's parameters against the statement's and copies
// them out of the receive buffer (into one allocation).
func bindParams(m *pgproto3.Bind, want int, stmt string) ([]int16, [][]byte, error) {
	n := len(m.Parameters)
	if f := len(m.ParameterFormatCodes); f != 0 && f != 1 && f != n {
		return nil, nil, protocolViolation("bind message has %d parameter formats but %d parameters", f, n)
	}
	if n != want {
		return nil, nil, protocolViolation("bind message supplies %d parameters, but prepared statement %q requires %d", n, stmt, want)
	}
	formats := append([]int16(nil), m.ParameterFormatCodes...)
	if err := checkFormatCodes(formats); err != nil {
		return nil, nil, err
	}
	size := 0
	for _, p := range m.Parameters {
		size += len(p)
	}
	buf := make([]byte, 0, size)
	params := make([][]byte, n)
	for i, p := range m.Parameters {
		if p == nil {
			continue
		}
		start := len(buf)
		buf = append(buf, p...)
		params[i] = buf[start:len(buf):len(buf)]
	}
	return formats, params, nil
}

// describe handles Describe of a statement or a portal.
func (c *conn) describe(m *pgproto3.Describe) error {
	switch m.ObjectType {
	case 'S':
		st, ok := c.stmts[m.Name]
		if !ok {
			return pgerr.New(pgerrcode.InvalidSQLStatementName, "prepared statement %q does not exist", m.Name)
		}
		c.out.send(&pgproto3.ParameterDescription{ParameterOIDs: st.ParamOIDs()})
		c.sendRowDescription(st.Columns(), nil)
	case 'P':
		p, ok := c.portals[m.Name]
		if !ok {
			return pgerr.New(pgerrcode.InvalidCursorName, "portal %q does not exist", m.Name)
		}
		cols := p.p.Columns()
		formats, err := expandFormats(p.rw.formats, len(cols))
		if err != nil {
			return err
		}
		c.sendRowDescription(cols, formats)
	default:
		return protocolViolation("invalid DESCRIBE message subtype %d", m.ObjectType)
	}
	return nil
}

// sendRowDescription sends RowDescription, or NoData when cols is nil.
func (c *conn) sendRowDescription(cols []pgcodec.Column, formats []int16) {
	if cols == nil {
		c.out.send(&pgproto3.NoData{})
		return
	}
	c.out.send(rowDescription(cols, formats))
}

// execute handles Execute: it runs or continues a portal.
func (c *conn) execute(ctx context.Context, m *pgproto3.Execute) error {
	p, ok := c.portals[m.Portal]
	if !ok {
		return pgerr.New(pgerrcode.InvalidCursorName, "portal %q does not exist", m.Portal)
	}
	maxRows := int(m.MaxRows)
	var suspended bool
	err := c.withQuery(ctx, func(ctx context.Context) (err error) {
		suspended, err = p.p.Execute(ctx, &p.rw, maxRows)
		return err
	})
	if err != nil {
		return err
	}
	if suspended {
		c.out.send(&pgproto3.PortalSuspended{})
	}
	return nil
}

// sync handles Sync: it ends the implicit transaction, drops the unnamed
// portal and sends ReadyForQuery.
func (c *conn) sync(ctx context.Context, sess Session) error {
	c.ignoreTillSync = false
	var err error
	if ss, ok := sess.(SyncSession); ok {
		err = c.withQuery(ctx, ss.Sync)
	}
	if derr := c.dropPortal(""); err == nil {
		err = derr
	}
	if err != nil {
		e := pgerr.As(err)
		c.logUncoded(err, e)
		if isFatal(e) {
			return e
		}
		c.out.send(errorResponse(e))
	}
	c.readyForQuery(sess)
	return nil
}

// closeObject handles Close of a statement or portal; closing one that does
// not exist is not an error.
func (c *conn) closeObject(m *pgproto3.Close) error {
	var err error
	switch m.ObjectType {
	case 'S':
		err = c.dropStatement(m.Name)
	case 'P':
		err = c.dropPortal(m.Name)
	default:
		return protocolViolation("invalid CLOSE message subtype %d", m.ObjectType)
	}
	if err != nil {
		return err
	}
	c.out.send(&pgproto3.CloseComplete{})
	return nil
}

// dropStatement closes and forgets a prepared statement, if it exists.
func (c *conn) dropStatement(name string) error {
	st, ok := c.stmts[name]
	if !ok {
		return nil
	}
	delete(c.stmts, name)
	return st.Close()
}

// dropPortal closes and forgets a portal, if it exists.
func (c *conn) dropPortal(name string) error {
	p, ok := c.portals[name]
	if !ok {
		return nil
	}
	delete(c.portals, name)
	return p.p.Close()
}
