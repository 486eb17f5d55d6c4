package s3_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-db/sluice/connectors/s3"
	"github.com/sluice-db/sluice/connectors/s3/s3test"
	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/internal/testing/testtls"
)

// TestTLS runs the store against a versitygw that serves https with a
// certificate of a test CA: with object_storage.ca_file naming the CA,
// upload, list and download work (for 127.0.0.1 and localhost); without
// it, or with another CA, every request fails with a clear 08001.
func TestTLS(t *testing.T) {
	ca := testtls.NewCA(t, "sluice test CA")
	dir := t.TempDir()
	certFile, keyFile := ca.Server(t, "127.0.0.1", "localhost").Write(t, dir, "s3")
	srv := s3test.StartTLST(t, s3test.TLS{CertFile: certFile, KeyFile: keyFile, Roots: ca.Pool()})
	caFile := ca.WriteCert(t, dir)
	otherCA := testtls.NewCA(t, "another CA").WriteCert(t, t.TempDir())
	if !strings.HasPrefix(srv.Endpoint, "https://") {
		t.Fatalf("endpoint %s is not https", srv.Endpoint)
	}
	cfg := func(endpoint, caFile string) s3.Config {
		return s3.Config{Endpoint: endpoint, Region: srv.Region, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey,
			CAFile: caFile, CacheDir: t.TempDir(), Timeout: 5 * time.Second}
	}
	ctx := context.Background()
	const bucket = "tls"
	if err := srv.MakeBucket(bucket); err != nil {
		t.Fatal(err)
	}
	data := randomBytes(t, 6<<20) // more than one 5 MiB part
	local := filepath.Join(t.TempDir(), "data.bin")
	writeFile(t, local, data)

	for i, endpoint := range []string{srv.Endpoint, strings.Replace(srv.Endpoint, "127.0.0.1", "localhost", 1)} {
		c := cfg(endpoint, caFile)
		c.PartSize = s3.MinPartSize
		st := newStore(t, c)
		key := []string{"a/data.bin", "b/data.bin"}[i]
		if err := st.Upload(ctx, local, bucket, key); err != nil {
			t.Fatalf("%s: Upload: %v", endpoint, err)
		}
		objs := list(t, st, bucket, key)
		if len(objs) != 1 || objs[0].Size != int64(len(data)) {
			t.Fatalf("%s: listed %v, want %s of %d bytes", endpoint, objs, key, len(data))
		}
		paths, release, err := st.Fetch(ctx, objs)
		if err != nil {
			t.Fatalf("%s: Fetch: %v", endpoint, err)
		}
		if got, err := os.ReadFile(paths[0]); err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s: the downloaded object differs from the uploaded one (%v)", endpoint, err)
		}
		release()
	}

	for _, tc := range []struct {
		name, caFile, want string
	}{
		{"system roots", "", "set object_storage.ca_file"},
		{"another CA", otherCA, "object_storage.ca_file (" + otherCA + ")"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newStore(t, cfg(srv.Endpoint, tc.caFile))
			start := time.Now()
			_, err := st.List(ctx, bucket, "**")
			if err == nil {
				t.Fatal("listed over an unverified connection")
			}
			t.Logf("%s: %v (after %v)", tc.name, err, time.Since(start).Round(time.Millisecond))
			if code := pgerr.Code(err); code != "08001" {
				t.Errorf("SQLSTATE %s, want 08001", code)
			}
			if msg := err.Error(); !strings.Contains(msg, "TLS verification") || !strings.Contains(msg, "unknown authority") || !strings.Contains(msg, tc.want) {
				t.Errorf("the error does not say the certificate failed verification and what to set (%q): %v", tc.want, err)
			}
			if strings.Contains(err.Error(), srv.SecretKey) {
				t.Errorf("the error shows the secret key: %v", err)
			}
			if err := st.Upload(ctx, local, bucket, "c/data.bin"); pgerr.Code(err) != "08001" {
				t.Errorf("Upload: %v, want 08001", err)
			}
			_, _, err = st.Fetch(ctx, []s3.Object{{Bucket: bucket, Key: "a/data.bin", Size: int64(len(data))}})
			if pgerr.Code(err) != "08001" {
				t.Errorf("Fetch: %v, want 08001", err)
			}
		})
	}
}

// TestCAFileConfig: a missing or bad ca_file, or one with an http
// endpoint, is a 22023 error naming object_storage.ca_file.
func TestCAFileConfig(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	writeFile(t, notPEM, []byte("-----BEGIN NONSENSE-----\nxyz\n"))
	good := testtls.NewCA(t, "CA").WriteCert(t, dir)
	for _, tc := range []struct {
		name     string
		endpoint string
		caFile   string
		want     string
	}{
		{"missing", "https://127.0.0.1:9000", filepath.Join(dir, "nope.pem"), "no such file"},
		{"not PEM", "https://127.0.0.1:9000", notPEM, "holds no PEM certificate"},
		{"a directory", "https://127.0.0.1:9000", dir, "is a directory"},
		{"http endpoint", "http://127.0.0.1:9000", good, "not https"},
		{"host:port without use_ssl", "127.0.0.1:9000", good, "not https"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := s3.Config{Endpoint: tc.endpoint, CAFile: tc.caFile, CacheDir: t.TempDir()}
			err := c.Validate()
			if pgerr.Code(err) != "22023" || !strings.Contains(err.Error(), `"object_storage.ca_file"`) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate: %v, want 22023 naming object_storage.ca_file (%s)", err, tc.want)
			}
			if strings.Contains(err.Error(), "xyz") {
				t.Errorf("the error shows the file's content: %v", err)
			}
			if _, err := s3.New(c, nil); pgerr.Code(err) != "22023" {
				t.Errorf("New: %v, want 22023", err)
			}
		})
	}
	c := s3.Config{Endpoint: "127.0.0.1:9000", UseSSL: true, CAFile: good, CacheDir: t.TempDir()}
	if err := c.Validate(); err != nil {
		t.Errorf("use_ssl with ca_file: %v", err)
	}
	if !strings.Contains(c.String(), good) {
		t.Errorf("String() does not show ca_file: %s", c)
	}
}
