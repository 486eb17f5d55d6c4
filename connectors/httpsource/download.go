package httpsource

import (
	"context"
	"errors"
	"io"
	"os"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// tempFile is a downloaded Parquet document. Parquet keeps its metadata at
// the end, so a read needs the whole file: it goes to os.TempDir, bounded
// by max_bytes, and is removed when the read ends.
type tempFile struct {
	path string
}

func (f *tempFile) remove() { os.Remove(f.path) }

// download copies resp's body to a temporary file.
func (s *source) download(ctx context.Context, resp *response) (*tempFile, error) {
	tooLarge := func() error {
		return pgerr.New(pgerrcode.ProgramLimitExceeded, "%s is larger than max_bytes (%d bytes)", s.display, s.maxBytes)
	}
	if resp.length > s.maxBytes {
		return nil, tooLarge()
	}
	f, err := os.CreateTemp("", "sluice-http-*.parquet")
	if err != nil {
		return nil, errorf(pgerrcode.IOError, err, "creating a temporary file for %s: %v", s.display, err)
	}
	tf := &tempFile{path: f.Name()}
	n, err := io.Copy(f, io.LimitReader(resp.body, s.maxBytes+1))
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	switch {
	case err != nil:
		tf.remove()
		if ctx.Err() != nil {
			return nil, canceled(ctx, "the read of "+s.display)
		}
		var pe *pgerr.Error
		if errors.As(err, &pe) {
			return nil, err
		}
		return nil, errorf(pgerrcode.IOError, err, "writing the temporary copy of %s: %v", s.display, err)
	case n > s.maxBytes:
		tf.remove()
		return nil, tooLarge()
	}
	return tf, nil
}
