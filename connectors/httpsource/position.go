package httpsource

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/connectors"
	"github.com/sluice-db/sluice/internal/pgerr"
)

// position is a version of the document: its validators as the server sent
// them, or, when it sent neither, the SHA-256 of the content. Its text form
// is JSON: {"etag":"...","last_modified":"...","sha256":"..."}, empty
// fields left out.
type position struct {
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
	SHA256       string `json:"sha256,omitempty"`
}

// conditional reports whether p can make a request conditional.
func (p position) conditional() bool { return p.ETag != "" || p.LastModified != "" }

func (p position) text() connectors.Position {
	if p == (position{}) {
		return ""
	}
	b, _ := json.Marshal(p)
	return connectors.Position(b)
}

func parsePosition(p connectors.Position) (position, error) {
	var out position
	if p == "" {
		return out, nil
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(p)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil || out == (position{}) {
		return out, pgerr.New(pgerrcode.InvalidTextRepresentation, "invalid HTTP source position %q", string(p))
	}
	return out, nil
}

func (s *source) remember(p position) {
	s.mu.Lock()
	s.last = p
	s.mu.Unlock()
}

// Latest is the document's current version. The request is conditional on
// the validators last seen, so an unchanged document costs a 304; a server
// that sends no validators has its content downloaded and hashed.
func (s *source) Latest(ctx context.Context) (connectors.Position, error) {
	s.mu.Lock()
	last := s.last
	s.mu.Unlock()
	p, err := s.check(ctx, last)
	if err != nil {
		return "", err
	}
	return p.text(), nil
}

// check fetches the document's current version, conditional on cond's
// validators: a 304 means cond is current.
func (s *source) check(ctx context.Context, cond position) (position, error) {
	if !cond.conditional() {
		cond = position{}
	}
	resp, err := s.fetch(ctx, cond)
	if err != nil {
		return position{}, err
	}
	defer resp.body.Close()
	if resp.status == 304 {
		s.remember(cond)
		return cond, nil
	}
	p := resp.validators
	if !p.conditional() {
		h := sha256.New()
		if _, err := io.Copy(h, resp.body); err != nil {
			return position{}, err
		}
		p.SHA256 = hex.EncodeToString(h.Sum(nil))
	}
	s.remember(p)
	return p, nil
}

// Plan returns one split reading the whole document, or none when the
// document is still the version from. With to "" and from set, it asks the
// server (conditionally on from's validators) whether the document
// changed; with both set it compares them and makes no request. A read from
// "" always returns the document.
func (s *source) Plan(ctx context.Context, from, to connectors.Position) ([]connectors.Split, error) {
	fromP, err := parsePosition(from)
	if err != nil {
		return nil, err
	}
	toP, err := parsePosition(to)
	if err != nil {
		return nil, err
	}
	if from != "" {
		if to == "" {
			if toP, err = s.check(ctx, fromP); err != nil {
				return nil, err
			}
		}
		if toP == fromP {
			return nil, nil
		}
	}
	return []connectors.Split{&split{s: s, to: toP}}, nil
}

// split reads the whole document as the server has it when the split is
// opened (an HTTP server keeps no old versions): normally version to.
type split struct {
	s  *source
	to position
}

func (sp *split) Open(ctx context.Context) (connectors.BatchReader, error) {
	s := sp.s
	resp, err := s.fetch(ctx, position{})
	if err != nil {
		return nil, err
	}
	if v := resp.validators; sp.to.conditional() && v.conditional() && v != (position{ETag: sp.to.ETag, LastModified: sp.to.LastModified}) {
		s.log.Info("the HTTP document changed since the read was planned; reading the newer version", "url", s.display)
	}
	switch s.format {
	case "json":
		return newJSONReader(ctx, s.schema, s.alloc, resp.body)
	case "csv":
		return newCSVReader(ctx, s.schema, s.alloc, resp.body, s.delim, s.header)
	default:
		defer resp.body.Close()
		f, err := s.download(ctx, resp)
		if err != nil {
			return nil, err
		}
		return newParquetReader(ctx, s.schema, s.alloc, f)
	}
}
