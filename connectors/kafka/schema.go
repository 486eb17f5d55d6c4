package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// sampleSize is how many messages Open reads to infer a schema.
const sampleSize = 1000

// What a sampled field held, as bits.
const (
	sawInt uint8 = 1 << iota
	sawFloat
	sawBool
	sawString
	sawComposite
)

// inferJSON infers value fields from sampled JSON messages: numbers are
// bigint when every one is integral, else double; booleans boolean;
// strings text; objects and arrays json; a field holding values of more
// than one of those kinds (or only nulls) is text. Fields come in order of
// first appearance. Messages that are not JSON objects are ignored; valid
// is how many were.
func inferJSON(values [][]byte, log *slog.Logger) (fields []arrow.Field, valid int, err error) {
	sc := newJSONScanner(nil, nil, true)
	var saw []uint8
	for _, v := range values {
		n := len(sc.names)
		if v == nil || !sc.scan(v) {
			// Forget fields only a malformed message named.
			for _, name := range sc.names[n:] {
				delete(sc.index, name)
			}
			sc.names, sc.slots, sc.raw = sc.names[:n], sc.slots[:n], sc.raw[:n]
			continue
		}
		valid++
		for len(saw) < len(sc.slots) {
			saw = append(saw, 0)
		}
		for j := range sc.slots {
			sl := &sc.slots[j]
			if sl.gen != sc.gen {
				continue
			}
			switch sl.t {
			case vNumber:
				num := v[sl.start:sl.end]
				if _, isInt, _ := scanNumber(num, 0); isInt {
					if _, err := strconv.ParseInt(string(num), 10, 64); err == nil {
						saw[j] |= sawInt
						continue
					}
				}
				saw[j] |= sawFloat
			case vText:
				saw[j] |= sawString
			case vTrue, vFalse:
				saw[j] |= sawBool
			case vComposite:
				saw[j] |= sawComposite
			}
		}
		if len(sc.names) > maxColumns {
			return nil, valid, fmt.Errorf("the messages hold more than %d distinct fields", maxColumns)
		}
	}
	for j, name := range sc.names {
		if isMetaName(name) {
			log.Warn("kafka: a JSON field has the name of a metadata column and is not read; declare columns to read it under another name", "field", name)
			continue
		}
		f := arrow.Field{Name: name, Type: arrow.BinaryTypes.String, Nullable: true}
		switch saw[j] {
		case sawInt:
			f.Type = arrow.PrimitiveTypes.Int64
		case sawFloat, sawInt | sawFloat:
			f.Type = arrow.PrimitiveTypes.Float64
		case sawBool:
			f.Type = arrow.FixedWidthTypes.Boolean
		case sawComposite:
			f = jsonField(name)
		}
		fields = append(fields, f)
	}
	return fields, valid, nil
}

// inferCSV is c1..cN as text, N the most fields any sampled message has.
func inferCSV(values [][]byte, delim byte) []arrow.Field {
	n := 0
	var fs []csvField
	for _, v := range values {
		var ok bool
		if v == nil {
			continue
		}
		if fs, ok = splitCSV(v, delim, fs[:0]); ok && len(fs) > n {
			n = len(fs)
		}
	}
	n = min(n, maxColumns)
	fields := make([]arrow.Field, n)
	for i := range fields {
		fields[i] = arrow.Field{Name: "c" + strconv.Itoa(i+1), Type: arrow.BinaryTypes.String, Nullable: true}
	}
	return fields
}

// textFields is the text format's one value column.
func textFields() []arrow.Field {
	return []arrow.Field{{Name: "value", Type: arrow.BinaryTypes.String, Nullable: true}}
}

// arrowSchema is the metadata columns followed by the value columns.
func arrowSchema(value []arrow.Field) *arrow.Schema {
	return arrow.NewSchema(append(metaFields(), value...), nil)
}

// fixSchema checks the topic exists and sets s.schema.
func (s *source) fixSchema(ctx context.Context, stored *arrow.Schema) error {
	if _, err := s.metadata(ctx, s.admin); err != nil {
		return err
	}
	if stored != nil {
		return s.useSchema(stored)
	}
	var value []arrow.Field
	switch {
	case s.set.columns != nil:
		value = s.set.columns
	case s.set.format == "text":
		value = textFields()
	default:
		sample, err := s.sample(ctx)
		if err != nil {
			return err
		}
		if len(sample) == 0 {
			return pgerr.InvalidParameter("cannot infer the columns of %s messages from topic %q: it is empty; set option \"columns\"", s.set.format, s.set.topic)
		}
		if s.set.format == "csv" {
			value = inferCSV(sample, s.set.delim)
		} else {
			var valid int
			if value, valid, err = inferJSON(sample, s.log); err != nil {
				return pgerr.InvalidParameter("cannot infer the columns of topic %q: %v; set option \"columns\"", s.set.topic, err)
			}
			if valid == 0 {
				return pgerr.InvalidParameter("cannot infer the columns of topic %q: none of its first %d messages is a JSON object; set option \"columns\" or format", s.set.topic, len(sample))
			}
		}
		if len(value) == 0 {
			return pgerr.InvalidParameter("cannot infer the columns of topic %q: its first %d messages hold no fields; set option \"columns\"", s.set.topic, len(sample))
		}
	}
	return s.useSchema(arrowSchema(value))
}

// useSchema checks schema can be read with these options (a stored schema
// comes from the catalog) and sets it.
func (s *source) useSchema(schema *arrow.Schema) error {
	meta := metaFields()
	if schema.NumFields() < numMeta+1 {
		return pgerr.New(pgerrcode.DataCorrupted, "the stored schema of this %s source has %d columns, fewer than the metadata columns and one value column", Name, schema.NumFields())
	}
	for i, f := range meta {
		if g := schema.Field(i); g.Name != f.Name || !arrow.TypeEqual(g.Type, f.Type) {
			return pgerr.New(pgerrcode.DataCorrupted, "the stored schema of this %s source does not start with its metadata column %s", Name, f.Name)
		}
	}
	for _, f := range schema.Fields()[numMeta:] {
		if _, err := kindOf(f); err != nil {
			return pgerr.New(pgerrcode.DataCorrupted, "the stored schema of this %s source: %v", Name, err)
		}
	}
	s.schema = schema
	return nil
}

// sample reads up to sampleSize messages from the start of the topic,
// spread over the partitions, for schema inference.
func (s *source) sample(ctx context.Context) ([][]byte, error) {
	m, err := s.metadata(ctx, s.admin)
	if err != nil {
		return nil, err
	}
	latest, err := s.listOffsets(ctx, m.partitions, -1)
	if err != nil {
		return nil, err
	}
	earliest, err := s.listOffsets(ctx, m.partitions, -2)
	if err != nil {
		return nil, err
	}
	per := max(1, sampleSize/len(m.partitions))
	ranges := map[int32][2]int64{}
	for _, p := range m.partitions {
		start := earliest[p]
		if end := min(latest[p], start+int64(per)); start < end {
			ranges[p] = [2]int64{start, end}
		}
	}
	if len(ranges) == 0 {
		return nil, nil
	}
	c, err := s.newConsumer(ranges, false)
	if err != nil {
		return nil, err
	}
	defer c.close()
	// The sample is bounded by the timeout as any other network call.
	tctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var out [][]byte
	for len(out) < sampleSize {
		r, err := c.next(tctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if ctx.Err() == nil && tctx.Err() != nil {
				return nil, pgerr.New(pgerrcode.ConnectionFailure, "%s topic %q: reading a sample of messages to infer the columns took longer than %v; set option \"columns\"", Name, s.set.topic, s.timeout)
			}
			return nil, err
		}
		out = append(out, r.Value)
	}
	return out, nil
}
