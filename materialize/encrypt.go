package materialize

// Encryption at rest (WITH (encryption_key = 'name')). DuckDB 1.5.6 reads
// encrypted Parquet (read_parquet(..., encryption_config = {footer_key:
// 'name'}), the keys registered by internal/engine), but without the httpfs
// extension, which this build cannot load, it refuses to write it: its
// built-in crypto module is read-only, and the escape hatch
// (force_mbedtls_unsafe) draws the AES-GCM nonces from a generator DuckDB
// itself calls insecure. So DuckDB writes the files in plaintext into the
// staging directory, and Sluice rewrites each one here into a Parquet
// modular encryption file (AES_GCM_V1, footer and every column with the
// one key, nonces and file AAD from crypto/rand) before anything is
// published; the plaintext file is replaced. The copy is at the physical
// level: the same schema (logical types included), row groups, values and
// key-value metadata, column by column; only the pages are re-encoded.

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/catalog"
	"github.com/sluice-db/sluice/internal/pgerr"
)

// key returns the material of the configured key name ("" = none, nil).
func (m *Materializer) key(name string) ([]byte, error) {
	if name == "" {
		return nil, nil
	}
	k, ok := m.opts.EncryptionKeys[name]
	if !ok {
		return nil, pgerr.New(pgerrcode.UndefinedObject, "encryption key %q is not configured", name)
	}
	return k, nil
}

// encryptFiles rewrites the written files in place, encrypted with the key
// named name, several at a time; their sizes change.
func (m *Materializer) encryptFiles(ctx context.Context, files []writtenFile, name string) ([]writtenFile, error) {
	key, err := m.key(name)
	if err != nil || key == nil {
		return files, err
	}
	out := append([]writtenFile(nil), files...)
	err = forEach(ctx, len(out), func(i int) error {
		n, err := rewriteInPlace(ctx, out[i].path, nil, key)
		out[i].bytes = n
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// rewriteInPlace rewrites path through a temporary file beside it (from:
// the key it is encrypted with, nil if none; to: the key to encrypt it
// with, nil for plaintext) and returns its new size.
func rewriteInPlace(ctx context.Context, path string, from, to []byte) (int64, error) {
	tmp := path + ".enc"
	if err := rewriteParquet(ctx, path, tmp, from, to); err != nil {
		_ = os.Remove(tmp)
		return 0, err
	}
	fi, err := os.Stat(tmp)
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return 0, err
	}
	return fi.Size(), nil
}

// forEach runs fn(0..n-1) on up to GOMAXPROCS goroutines and returns the
// first error; the others stop at their next item.
func forEach(ctx context.Context, n int, fn func(i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(n, runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					cancel(err)
				}
			}
		}()
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return context.Cause(ctx)
}

// rewriteParquet copies the Parquet file src into dst (which it creates),
// decrypting with from and encrypting with to (nil: plaintext). Each
// column keeps its codec. DuckDB 1.5.6 reads back only part of what the
// specification allows, so the pages are written as it can read them:
//   - one data page per column chunk (after at most one dictionary page):
//     it fails the AES-GCM check of every data page after the first of a
//     chunk, so neither the page size nor the dictionary size may start a
//     new page;
//   - data page V1: on an encrypted V2 page it fails an internal assertion,
//     which invalidates the whole database;
//   - no statistics (see docs/security.md).
//
// A column chunk is one row group's values of one column (DuckDB writes
// row groups of 122,880 rows), so it must stay below 2 GiB, the largest
// page Parquet can describe.
func rewriteParquet(ctx context.Context, src, dst string, from, to []byte) error {
	rprops := parquet.NewReaderProperties(nil)
	if from != nil {
		rprops.FileDecryptProps = parquet.NewFileDecryptionProperties(parquet.WithFooterKey(string(from)))
	}
	r, err := file.OpenParquetFile(src, false, file.WithReadProps(rprops))
	if err != nil {
		return keyError(src, from, err)
	}
	defer r.Close()
	meta := r.MetaData()
	props := []parquet.WriterProperty{
		parquet.WithDataPageVersion(parquet.DataPageV1),
		parquet.WithDataPageSize(onePage),
		parquet.WithDictionaryPageSizeLimit(onePage),
		parquet.WithStats(false),
		parquet.WithPageIndexEnabled(false),
		parquet.WithCompression(compress.Codecs.Zstd),
	}
	if meta.NumRowGroups() > 0 {
		rg := meta.RowGroup(0)
		for i := range rg.NumColumns() {
			cc, err := rg.ColumnChunk(i)
			if err != nil {
				return keyError(src, from, err)
			}
			props = append(props, parquet.WithCompressionFor(meta.Schema.Column(i).ColumnPath().String(), cc.Compression()))
		}
	}
	if to != nil {
		props = append(props, parquet.WithEncryptionProperties(parquet.NewFileEncryptionProperties(string(to))))
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	w, err := file.NewParquetWriterWithError(f, meta.Schema.Root(),
		file.WithWriterProps(parquet.NewWriterProperties(props...)), file.WithWriteMetadata(meta.KeyValueMetadata()))
	if err != nil {
		f.Close()
		return err
	}
	if err := copyRowGroups(ctx, r, w); err != nil {
		w.Close()
		f.Close()
		return keyError(src, from, err)
	}
	if err := w.Close(); err != nil { // closes f
		return err
	}
	return nil
}

// keyError gives a failure to read an encrypted file its SQLSTATE: XX001
// when it does not decrypt (the engine's code for a failed AES-GCM check).
func keyError(path string, key []byte, err error) error {
	if key == nil {
		return fmt.Errorf("rewriting %s: %w", path, err)
	}
	msg := err.Error()
	if strings.Contains(msg, "authentication") || strings.Contains(msg, "decrypt") {
		return &pgerr.Error{Code: pgerrcode.DataCorrupted, Message: fmt.Sprintf("cannot decrypt %s: %v", path, err),
			Hint: "The Parquet file does not authenticate under the key configured with that name: it was encrypted with another key, or it was altered.", Cause: err}
	}
	return fmt.Errorf("rewriting encrypted %s: %w", path, err)
}

func copyRowGroups(ctx context.Context, r *file.Reader, w *file.Writer) error {
	for g := range r.NumRowGroups() {
		if err := ctx.Err(); err != nil {
			return err
		}
		rg := r.RowGroup(g)
		rgw, err := w.AppendRowGroupChecked()
		if err != nil {
			return err
		}
		for c := range rg.NumColumns() {
			cr, err := rg.Column(c)
			if err != nil {
				return err
			}
			cw, err := rgw.NextColumn()
			if err != nil {
				return err
			}
			if err := copyColumn(cr, cw); err != nil {
				return fmt.Errorf("row group %d, column %s: %w", g, cr.Descriptor().Path(), err)
			}
			if err := cw.Close(); err != nil {
				return err
			}
		}
		if err := rgw.Close(); err != nil {
			return err
		}
	}
	return nil
}

// copyColumn copies one column chunk: values with their definition and
// repetition levels, by physical type.
func copyColumn(cr file.ColumnChunkReader, cw file.ColumnChunkWriter) error {
	var def, rep []int16
	if cr.Descriptor().MaxDefinitionLevel() > 0 {
		def = make([]int16, copyBatch)
	}
	if cr.Descriptor().MaxRepetitionLevel() > 0 {
		rep = make([]int16, copyBatch)
	}
	switch r := cr.(type) {
	case *file.BooleanColumnChunkReader:
		return copyValues(r.ReadBatch, cw.(*file.BooleanColumnChunkWriter).WriteBatch, def, rep)
	case *file.Int32ColumnChunkReader:
		return copyValues(r.ReadBatch, cw.(*file.Int32ColumnChunkWriter).WriteBatch, def, rep)
	case *file.Int64ColumnChunkReader:
		return copyValues(r.ReadBatch, cw.(*file.Int64ColumnChunkWriter).WriteBatch, def, rep)
	case *file.Int96ColumnChunkReader:
		return copyValues(r.ReadBatch, cw.(*file.Int96ColumnChunkWriter).WriteBatch, def, rep)
	case *file.Float32ColumnChunkReader:
		return copyValues(r.ReadBatch, cw.(*file.Float32ColumnChunkWriter).WriteBatch, def, rep)
	case *file.Float64ColumnChunkReader:
		return copyValues(r.ReadBatch, cw.(*file.Float64ColumnChunkWriter).WriteBatch, def, rep)
	case *file.ByteArrayColumnChunkReader:
		return copyValues(r.ReadBatch, cw.(*file.ByteArrayColumnChunkWriter).WriteBatch, def, rep)
	case *file.FixedLenByteArrayColumnChunkReader:
		return copyValues(r.ReadBatch, cw.(*file.FixedLenByteArrayColumnChunkWriter).WriteBatch, def, rep)
	}
	return fmt.Errorf("unsupported Parquet column reader %T", cr)
}

const copyBatch = 4096

// onePage is a page size no column chunk reaches, so that each chunk is one
// data page (and its dictionary does not fall back to plain in a second).
const onePage = 1<<31 - 1

// copyValues moves batches from read to write until the chunk ends. Byte
// array values point into the reader's buffers; the writer copies them
// before the next read.
func copyValues[T any](read func(int64, []T, []int16, []int16) (int64, int, error),
	write func([]T, []int16, []int16) (int64, error), def, rep []int16) error {
	vals := make([]T, copyBatch)
	for {
		levels, n, err := read(copyBatch, vals, def, rep)
		if err != nil {
			return err
		}
		if levels == 0 {
			return nil
		}
		d, r := def, rep
		if d != nil {
			d = d[:levels]
		}
		if r != nil {
			r = r[:levels]
		}
		if _, err := write(vals[:n], d, r); err != nil {
			return err
		}
	}
}

// warnMissingKeys logs, at start, every object whose encryption key is not
// configured: reading it fails (42704) until the key is added, and so does
// its next refresh.
func (m *Materializer) warnMissingKeys(ctx context.Context) error {
	views, err := m.opts.Catalog.Views(ctx)
	if err != nil {
		return err
	}
	for _, v := range views {
		for _, name := range []string{v.Options["encryption_key"], v.VersionKey} {
			if _, ok := m.opts.EncryptionKeys[name]; name != "" && !ok {
				m.log.Warn("encryption key of a materialized view is not configured", "view", v.Ref.String(), "encryption_key", name)
			}
		}
	}
	objs, err := m.opts.Catalog.ScheduledViews(ctx)
	if err != nil {
		return err
	}
	for _, o := range objs {
		if o.Kind != catalog.KindPipeline {
			continue
		}
		p, err := m.opts.Catalog.GetPipeline(ctx, o.Ref)
		if err != nil {
			return err
		}
		if name := p.Options["encryption_key"]; name != "" {
			if _, ok := m.opts.EncryptionKeys[name]; !ok {
				m.log.Warn("encryption key of a pipeline is not configured", "pipeline", p.Ref.String(), "encryption_key", name)
			}
		}
	}
	return nil
}
