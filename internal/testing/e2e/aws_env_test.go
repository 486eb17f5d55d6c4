package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/sluice-db/sluice/connectors/s3/s3test"
	"github.com/sluice-db/sluice/internal/testing/testserver"
)

// TestAWSEnvironmentOnly starts the binary with no object_storage key at
// all, only AWS's own conventions (variables, then shared files and a
// profile), as a user of the AWS CLI would, and reads and writes s3:// on
// a real S3 server (versitygw); wrong AWS credentials are a clear error
// naming where they came from, and the session goes on. A role without
// pg_read_server_files cannot use the gateway's AWS identity.
func TestAWSEnvironmentOnly(t *testing.T) {
	s3srv := s3test.StartT(t)
	if err := s3srv.MakeBucket("lake"); err != nil {
		t.Fatal(err)
	}
	mc, err := minio.New(s3srv.Host, &minio.Options{Creds: credentials.NewStaticV4(s3srv.AccessKey, s3srv.SecretKey, ""), Region: s3srv.Region})
	if err != nil {
		t.Fatal(err)
	}
	for i, body := range []string{"id,v\n1,10\n2,20\n", "id,v\n3,30\n"} {
		if _, err := mc.PutObject(t.Context(), "lake", fmt.Sprintf("in/part-%d.csv", i), bytes.NewReader([]byte(body)), int64(len(body)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	home := t.TempDir() // no ~/.aws of the machine's user
	start := func(t *testing.T, env ...string) *server {
		dataDir := t.TempDir()
		p := testserver.Start(t, testserver.Options{
			Bin: gatewayBin, Dir: repoRoot,
			Args: func(port int) []string {
				return []string{"serve", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--data-dir", dataDir}
			},
			Env:   append([]string{"HOME=" + home}, env...),
			Ready: pingReady(trustConnString),
		})
		return &server{Process: p, DataDir: dataDir}
	}
	readWrite := func(t *testing.T, s *server, out string) {
		conn := s.Connect(t)
		mustExec(t, conn, `CREATE SOURCE lake_in FROM FILES 's3://lake/in/*.csv'`)
		if got := mustQueryText(t, conn, `SELECT count(*), sum(v) FROM lake_in`); got[0][0] != "3" || got[0][1] != "60" {
			t.Fatalf("s3 source read with AWS credentials only: %v", got)
		}
		mustExec(t, conn, `CREATE MATERIALIZED VIEW lake_out WITH (location = 's3://lake/`+out+`') AS SELECT id, v * 2 AS v2 FROM lake_in`)
		n := 0
		for obj := range mc.ListObjects(t.Context(), "lake", minio.ListObjectsOptions{Prefix: out + "/", Recursive: true}) {
			if obj.Err != nil {
				t.Fatal(obj.Err)
			}
			if strings.HasSuffix(obj.Key, ".parquet") {
				n++
			}
		}
		if n == 0 {
			t.Fatalf("no Parquet file under s3://lake/%s/", out)
		}
		if got := mustQueryText(t, conn, `SELECT sum(v2) FROM lake_out`); got[0][0] != "120" {
			t.Fatalf("view stored in s3: %v", got)
		}
	}

	t.Run("variables", func(t *testing.T) {
		s := start(t, "AWS_ACCESS_KEY_ID="+s3srv.AccessKey, "AWS_SECRET_ACCESS_KEY="+s3srv.SecretKey,
			"AWS_ENDPOINT_URL="+s3srv.Endpoint, "AWS_REGION="+s3srv.Region)
		readWrite(t, s, "from-variables")

		// A role without pg_read_server_files may not read through the
		// gateway's AWS identity; granted it, it may.
		conn := s.Connect(t)
		mustExec(t, conn, `CREATE ROLE analyst LOGIN`)
		mustExec(t, conn, `GRANT CREATE ON SCHEMA public TO analyst`)
		ac, err := pgx.Connect(t.Context(), strings.Replace(s.ConnString(), "sluice@", "analyst@", 1))
		if err != nil {
			t.Fatal(err)
		}
		defer ac.Close(context.Background())
		_, err = ac.Exec(t.Context(), `CREATE SOURCE mine FROM FILES 's3://lake/in/*.csv'`)
		if pe := (*pgconn.PgError)(nil); !errors.As(err, &pe) || pe.Code != "42501" {
			t.Fatalf("analyst without pg_read_server_files: %v, want 42501", err)
		}
		mustExec(t, conn, `GRANT pg_read_server_files TO analyst`)
		mustExec(t, ac, `CREATE SOURCE mine FROM FILES 's3://lake/in/*.csv'`)
		if got := mustQueryText(t, ac, `SELECT count(*) FROM mine`); got[0][0] != "3" {
			t.Fatalf("analyst's source: %v", got)
		}
	})

	t.Run("shared files and a profile", func(t *testing.T) {
		dir := t.TempDir()
		config, creds := filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
		os.WriteFile(config, []byte(fmt.Sprintf("[default]\nregion = nowhere-1\n\n[profile lake]\nregion = %s\nendpoint_url = %s\n", s3srv.Region, s3srv.Endpoint)), 0o600)
		os.WriteFile(creds, []byte(fmt.Sprintf("[default]\naws_access_key_id = wrong\naws_secret_access_key = wrong\n\n[lake]\naws_access_key_id = %s\naws_secret_access_key = %s\n", s3srv.AccessKey, s3srv.SecretKey)), 0o600)
		s := start(t, "AWS_CONFIG_FILE="+config, "AWS_SHARED_CREDENTIALS_FILE="+creds, "AWS_PROFILE=lake")
		readWrite(t, s, "from-profile")
	})

	t.Run("wrong credentials", func(t *testing.T) {
		s := start(t, "AWS_ACCESS_KEY_ID="+s3srv.AccessKey, "AWS_SECRET_ACCESS_KEY=not-the-secret",
			"AWS_ENDPOINT_URL="+s3srv.Endpoint, "AWS_REGION="+s3srv.Region)
		conn := s.Connect(t)
		_, err := conn.Exec(t.Context(), `CREATE SOURCE lake_in FROM FILES 's3://lake/in/*.csv'`)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "58030" || !strings.Contains(pe.Message, "rejected the credentials") || !strings.Contains(pe.Message, "AWS_ACCESS_KEY_ID") {
			t.Fatalf("wrong AWS secret: %v, want 58030 naming the AWS variables", err)
		}
		if strings.Contains(pe.Error(), "not-the-secret") || strings.Contains(s.Log.String(), "not-the-secret") {
			t.Fatal("the secret appears in an error or the log")
		}
		if got := mustQueryText(t, conn, `SELECT 1`); got[0][0] != "1" {
			t.Fatalf("session after the error: %v", got)
		}
	})
}
