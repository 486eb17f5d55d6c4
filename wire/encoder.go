package wire

import (
	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluice-db/sluice/internal/pgcodec"
	"github.com/sluice-db/sluice/internal/pgerr"
)

// rowEncoder appends one complete DataRow message per row of a record batch.
// pgcodec.RowEncoder implements it.
type rowEncoder interface {
	AppendDataRows(dst []byte, rec arrow.RecordBatch) []byte
}

// newRowEncoder returns the encoder for a result with the given columns and
// per-column format codes (len(formats) == len(cols); 0 text, 1 binary).
// It is a variable only so that the package's tests can use a stand-in.
//
// TODO(pgcodec): until pgcodec.NewRowEncoder lands, this reports 0A000;
// then replace the body with:
//
//	enc, err := pgcodec.NewRowEncoder(cols, formats)
//	if err != nil {
//		return nil, err
//	}
//	return enc, nil
var newRowEncoder = func(cols []pgcodec.Column, formats []int16) (rowEncoder, error) {
	return nil, pgerr.Unsupported("encoding result rows is not available yet")
}
