package kafka

// A decoder turns one message value into the value columns: every call
// appends exactly one value or NULL to each column. A value that is not
// valid for the format (bad JSON, an unterminated CSV quote) is a row of
// NULLs; a field the column cannot hold is NULL. A read never fails
// because of a message's contents.
type decoder interface {
	decode(v []byte)
}

// textDecoder: the whole value is one text column.
type textDecoder struct{ col *column }

func (d *textDecoder) decode(v []byte) {
	if v == nil {
		d.col.appendNull()
		return
	}
	d.col.appendValue(vText, v)
}

// csvDecoder: the value is one CSV record (RFC 4180 quoting, no header);
// field i fills column i. Missing fields and unquoted empty fields are
// NULL (as in PostgreSQL's COPY CSV); extra fields are ignored.
type csvDecoder struct {
	cols    []*column
	delim   byte
	fields  []csvField
	scratch []byte
}

type csvField struct {
	start, end int
	quoted     bool
	esc        bool // holds a doubled quote
}

func (d *csvDecoder) decode(v []byte) {
	var ok bool
	if v != nil {
		d.fields, ok = splitCSV(v, d.delim, d.fields[:0])
	}
	if !ok {
		for _, c := range d.cols {
			c.appendNull()
		}
		return
	}
	for i, c := range d.cols {
		if i >= len(d.fields) {
			c.appendNull()
			continue
		}
		f := d.fields[i]
		if f.start == f.end && !f.quoted {
			c.appendNull()
			continue
		}
		val := v[f.start:f.end]
		if f.esc {
			d.scratch = d.scratch[:0]
			for j := 0; j < len(val); j++ {
				d.scratch = append(d.scratch, val[j])
				if val[j] == '"' {
					j++
				}
			}
			val = d.scratch
		}
		c.appendValue(vText, val)
	}
}

// splitCSV splits one record into fields (a trailing line break is not
// part of it); ok is false for a malformed quoted field.
func splitCSV(b []byte, delim byte, fields []csvField) ([]csvField, bool) {
	n := len(b)
	if n > 0 && b[n-1] == '\n' {
		n--
		if n > 0 && b[n-1] == '\r' {
			n--
		}
	}
	i := 0
	for {
		if i < n && b[i] == '"' {
			f := csvField{start: i + 1, quoted: true}
			j := i + 1
			for {
				if j >= n {
					return fields, false
				}
				if b[j] == '"' {
					if j+1 < n && b[j+1] == '"' {
						f.esc = true
						j += 2
						continue
					}
					break
				}
				j++
			}
			f.end = j
			fields = append(fields, f)
			j++
			if j == n {
				return fields, true
			}
			if b[j] != delim {
				return fields, false
			}
			i = j + 1
			continue
		}
		j := i
		for j < n && b[j] != delim {
			j++
		}
		fields = append(fields, csvField{start: i, end: j})
		if j >= n {
			return fields, true
		}
		i = j + 1
	}
}

// jsonDecoder: the value is a JSON object; its top-level fields fill the
// columns of the same name (case-sensitive).
type jsonDecoder struct {
	cols    []*column
	sc      *jsonScanner
	scratch []byte
}

func newJSONDecoder(cols []*column) *jsonDecoder {
	names := make([]string, len(cols))
	raw := make([]bool, len(cols))
	for i, c := range cols {
		names[i], raw[i] = c.name, c.wantsRaw()
	}
	return &jsonDecoder{cols: cols, sc: newJSONScanner(names, raw, false)}
}

func (d *jsonDecoder) decode(v []byte) {
	if v == nil || !d.sc.scan(v) {
		for _, c := range d.cols {
			c.appendNull()
		}
		return
	}
	gen := d.sc.gen
	for j, c := range d.cols {
		sl := &d.sc.slots[j]
		if sl.gen != gen || sl.t == vNull {
			c.appendNull()
			continue
		}
		val := v[sl.start:sl.end]
		if sl.esc {
			d.scratch = unescapeJSON(d.scratch[:0], val)
			val = d.scratch
		}
		if sl.ascii && (sl.t == vText || sl.t == vQuoted) {
			c.appendValidValue(sl.t, val)
		} else {
			c.appendValue(sl.t, val)
		}
	}
}
