package httpsource

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// BenchmarkJSONRead decodes 64K newline-delimited rows into one batch.
func BenchmarkJSONRead(b *testing.B) {
	body := ndjson(0, batchRows)
	rows, _ := newJSONRows(bytes.NewReader(body))
	sc, err := inferJSON(rows, inferRows)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		r, err := newJSONReader(context.Background(), sc, memory.NewGoAllocator(), io.NopCloser(bytes.NewReader(body)))
		if err != nil {
			b.Fatal(err)
		}
		for {
			rec, err := r.Next()
			if err != nil {
				break
			}
			rec.Release()
		}
		r.Close()
	}
}
