package wire

import (
	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluice-db/sluice/internal/pgcodec"
)

// rowEncoder appends one complete DataRow message per row of a record batch.
// pgcodec.RowEncoder implements it.
type rowEncoder interface {
	AppendDataRows(dst []byte, rec arrow.RecordBatch) ([]byte, error)
}

// newRowEncoder returns the encoder for a result with the given columns and
// per-column format codes (len(formats) == len(cols); 0 text, 1 binary).
// It is a variable only so that the package's tests can use a stand-in.
var newRowEncoder = func(cols []pgcodec.Column, formats []int16) (rowEncoder, error) {
	enc, err := pgcodec.NewRowEncoder(cols, formats)
	if err != nil {
		return nil, err
	}
	return enc, nil
}
