package httpsource

import (
	"context"
	"encoding/json"
	"io"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// parquetSupported: this build reads Parquet with arrow-go's pqarrow.
const parquetSupported = true

// parquetFile is an open downloaded Parquet file.
type parquetFile struct {
	osf *os.File
	pf  *file.Reader
	fr  *pqarrow.FileReader
}

func openParquet(f *tempFile, alloc memory.Allocator) (*parquetFile, error) {
	osf, err := os.Open(f.path)
	if err != nil {
		return nil, errorf(pgerrcode.IOError, err, "opening a downloaded parquet file: %v", err)
	}
	// Unlinked while open, the file goes away with the reader even if the
	// process dies (where the OS allows it; else remove runs at Close).
	f.remove()
	pf, err := file.NewParquetReader(osf)
	if err != nil {
		osf.Close()
		return nil, errorf(pgerrcode.BadCopyFileFormat, err, "the content is not a parquet file: %v", err)
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: batchRows}, alloc)
	if err != nil {
		pf.Close()
		return nil, errorf(pgerrcode.BadCopyFileFormat, err, "reading the parquet file: %v", err)
	}
	return &parquetFile{osf: osf, pf: pf, fr: fr}, nil
}

func (p *parquetFile) close() {
	p.pf.Close() // closes osf too
	p.osf.Close()
}

// inferSchema is the file's columns, in the types a source may use (see
// targetType).
func (f *tempFile) inferSchema(alloc memory.Allocator) (*arrow.Schema, error) {
	p, err := openParquet(f, alloc)
	if err != nil {
		return nil, err
	}
	defer p.close()
	fsc, err := p.fr.Schema()
	if err != nil {
		return nil, errorf(pgerrcode.BadCopyFileFormat, err, "reading the parquet file's schema: %v", err)
	}
	if fsc.NumFields() == 0 {
		return nil, pgerr.New(pgerrcode.BadCopyFileFormat, "the parquet file has no columns")
	}
	fields := make([]arrow.Field, fsc.NumFields())
	for i, ff := range fsc.Fields() {
		fields[i] = arrow.Field{Name: ff.Name, Nullable: true, Type: arrow.BinaryTypes.String}
		switch t, ok := targetType(ff.Type); {
		case ff.Type.ID() == arrow.NULL:
		case ok:
			fields[i].Type = t
		default:
			fields[i].Metadata = jsonMeta
		}
	}
	return arrow.NewSchema(fields, nil), nil
}

// targetType is the source column type for a Parquet column's Arrow type:
// the same where a source may use it, else the nearest one that holds
// every value. false means none: the column becomes JSON text.
func targetType(dt arrow.DataType) (arrow.DataType, bool) {
	var t arrow.DataType
	switch dt.ID() {
	case arrow.BOOL, arrow.INT16, arrow.INT32, arrow.INT64, arrow.FLOAT32, arrow.FLOAT64,
		arrow.STRING, arrow.BINARY, arrow.DATE32:
		return dt, true
	case arrow.INT8, arrow.UINT8:
		t = arrow.PrimitiveTypes.Int16
	case arrow.UINT16:
		t = arrow.PrimitiveTypes.Int32
	case arrow.UINT32:
		t = arrow.PrimitiveTypes.Int64
	case arrow.UINT64:
		t = &arrow.Decimal128Type{Precision: 20, Scale: 0}
	case arrow.FLOAT16:
		t = arrow.PrimitiveTypes.Float32
	case arrow.LARGE_STRING, arrow.STRING_VIEW:
		t = arrow.BinaryTypes.String
	case arrow.LARGE_BINARY, arrow.BINARY_VIEW, arrow.FIXED_SIZE_BINARY:
		t = arrow.BinaryTypes.Binary
	case arrow.DATE64:
		t = arrow.FixedWidthTypes.Date32
	case arrow.TIMESTAMP:
		t = tsLocal
		if dt.(*arrow.TimestampType).TimeZone != "" {
			t = tsUTC
		}
	case arrow.TIME32, arrow.TIME64:
		t = arrow.FixedWidthTypes.Time64us
	case arrow.DECIMAL32, arrow.DECIMAL64, arrow.DECIMAL128, arrow.DECIMAL256:
		d := dt.(arrow.DecimalType)
		if d.GetPrecision() > 38 {
			return nil, false
		}
		t = &arrow.Decimal128Type{Precision: d.GetPrecision(), Scale: d.GetScale()}
	case arrow.LIST, arrow.LARGE_LIST:
		et, ok := targetType(dt.(arrow.ListLikeType).Elem())
		if !ok || et.ID() == arrow.LIST {
			return nil, false
		}
		t = arrow.ListOf(et)
	default:
		return nil, false
	}
	if arrow.TypeEqual(t, dt) {
		return dt, true
	}
	if !compute.CanCast(dt, t) {
		return nil, false
	}
	return t, true
}

// How a source column is made from a file's column.
const (
	convPass = iota // as it is
	convCast        // cast to the source's type
	convJSON        // each value as JSON text
	convNull        // the file lacks it: nulls
)

type colConv struct {
	src int // the file column, -1 for convNull
	how int
}

// parquetReader reads a downloaded Parquet file in batches, matching the
// source's columns to the file's by name.
type parquetReader struct {
	ctx    context.Context
	cctx   context.Context // ctx with the allocator, for casts
	file   *tempFile
	p      *parquetFile
	rr     pqarrow.RecordReader
	schema *arrow.Schema
	alloc  memory.Allocator
	conv   []colConv
	err    error
}

func newParquetReader(ctx context.Context, schema *arrow.Schema, alloc memory.Allocator, f *tempFile) (*parquetReader, error) {
	p, err := openParquet(f, alloc)
	if err != nil {
		f.remove()
		return nil, err
	}
	r := &parquetReader{ctx: ctx, cctx: compute.WithAllocator(ctx, alloc), file: f, p: p, schema: schema, alloc: alloc}
	fail := func(err error) (*parquetReader, error) {
		r.Close()
		return nil, err
	}
	fsc, err := p.fr.Schema()
	if err != nil {
		return fail(errorf(pgerrcode.BadCopyFileFormat, err, "reading the parquet file's schema: %v", err))
	}
	if p.pf.NumRows() > 0 {
		if r.rr, err = p.fr.GetRecordReader(ctx, nil, nil); err != nil {
			return fail(errorf(pgerrcode.BadCopyFileFormat, err, "reading the parquet file: %v", err))
		}
		fsc = r.rr.Schema()
	}
	for _, f := range schema.Fields() {
		cv := colConv{src: -1, how: convNull}
		if idx := fsc.FieldIndices(f.Name); len(idx) > 0 {
			ft := fsc.Field(idx[0]).Type
			cv.src = idx[0]
			t, ok := targetType(ft)
			switch {
			case ft.ID() == arrow.NULL:
				cv = colConv{src: -1, how: convNull}
			case arrow.TypeEqual(ft, f.Type):
				cv.how = convPass
			case ok && arrow.TypeEqual(t, f.Type):
				cv.how = convCast
			case !ok && f.Type.ID() == arrow.STRING:
				cv.how = convJSON
			default:
				return fail(pgerr.New(pgerrcode.DatatypeMismatch,
					"column %q is %s in the parquet content but %s in the source", f.Name, ft, f.Type))
			}
		}
		r.conv = append(r.conv, cv)
	}
	return r, nil
}

func (r *parquetReader) Next() (arrow.RecordBatch, error) {
	if r.err != nil {
		return nil, r.err
	}
	if r.ctx.Err() != nil {
		r.err = canceled(r.ctx, "the read")
		return nil, r.err
	}
	if r.rr == nil || !r.rr.Next() {
		r.err = io.EOF
		if r.rr != nil && r.rr.Err() != nil {
			r.err = errorf(pgerrcode.BadCopyFileFormat, r.rr.Err(), "reading the parquet file: %v", r.rr.Err())
		}
		return nil, r.err
	}
	rec := r.rr.RecordBatch()
	n := rec.NumRows()
	cols := make([]arrow.Array, 0, len(r.conv))
	release := func() {
		for _, c := range cols {
			c.Release()
		}
	}
	for i, cv := range r.conv {
		f := r.schema.Field(i)
		var col arrow.Array
		switch cv.how {
		case convPass:
			col = rec.Column(cv.src)
			col.Retain()
		case convCast:
			opts := compute.SafeCastOptions(f.Type)
			opts.AllowTimeTruncate = true
			c, err := compute.CastArray(r.cctx, rec.Column(cv.src), opts)
			if err != nil {
				release()
				r.err = errorf(pgerrcode.InvalidTextRepresentation, err, "column %q: %v", f.Name, err)
				return nil, r.err
			}
			col = c
		case convJSON:
			c, err := jsonColumn(r.alloc, rec.Column(cv.src))
			if err != nil {
				release()
				r.err = errorf(pgerrcode.InvalidTextRepresentation, err, "column %q: %v", f.Name, err)
				return nil, r.err
			}
			col = c
		default:
			col = array.MakeArrayOfNull(r.alloc, f.Type, int(n))
		}
		cols = append(cols, col)
	}
	out := array.NewRecordBatch(r.schema, cols, n)
	release()
	return out, nil
}

// jsonColumn is col's values as JSON text.
func jsonColumn(alloc memory.Allocator, col arrow.Array) (arrow.Array, error) {
	b := array.NewStringBuilder(alloc)
	defer b.Release()
	b.Reserve(col.Len())
	for i := 0; i < col.Len(); i++ {
		if col.IsNull(i) {
			b.AppendNull()
			continue
		}
		text, err := json.Marshal(col.GetOneForMarshal(i))
		if err != nil {
			return nil, err
		}
		b.BinaryBuilder.Append(text)
	}
	return b.NewArray(), nil
}

func (r *parquetReader) Close() error {
	if r.p == nil {
		return nil
	}
	if r.rr != nil {
		r.rr.Release()
	}
	r.p.close()
	r.p = nil
	r.file.remove()
	if r.err == nil {
		r.err = io.EOF
	}
	return nil
}
