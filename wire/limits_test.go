package wire

import (
	"context"
	"testing"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgcodec"
	"github.com/sluice-db/sluice/internal/pgerr"
)

// paramStmt is a prepared statement of n parameters.
type paramStmt struct {
	n      int
	closed bool
}

func (s *paramStmt) ParamOIDs() []uint32                                     { return make([]uint32, s.n) }
func (s *paramStmt) Columns() []pgcodec.Column                               { return nil }
func (s *paramStmt) Close() error                                            { s.closed = true; return nil }
func (s *paramStmt) Bind(context.Context, []int16, [][]byte) (Portal, error) { return nil, nil }

// TestParamCountLimit: a statement of more parameters than a Bind can
// carry is refused with 54000 and closed; 65535 is fine.
func TestParamCountLimit(t *testing.T) {
	ok := &paramStmt{n: MaxBindParameters}
	if err := checkParamCount(ok); err != nil || ok.closed {
		t.Fatalf("65535 parameters: %v, closed %v", err, ok.closed)
	}
	big := &paramStmt{n: MaxBindParameters + 1}
	if err := checkParamCount(big); pgerr.Code(err) != pgerrcode.ProgramLimitExceeded || !big.closed {
		t.Fatalf("65536 parameters: %v, closed %v", err, big.closed)
	}
}
