package e2e

import (
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestPipelineCrashExactlyOnce lands 100k-row files one at a time and
// SIGKILLs the gateway at a random moment of each REFRESH PIPELINE that
// reads them. After every restart no uncommitted file may remain in the
// pipeline's directory; at the end the pipeline's rows (count and checksum)
// must equal those of a clean run over the same files: no row lost, none
// duplicated.
func TestPipelineCrashExactlyOnce(t *testing.T) {
	const files, rowsPerFile = 5, 100_000
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed))

	dataDir, landing, gen := t.TempDir(), t.TempDir(), t.TempDir()
	s := startServer(t, dataDir)
	conn := s.Connect(t)
	for i := range files {
		mustExec(t, conn, fmt.Sprintf(`COPY (SELECT i AS id, ['click', 'view', 'buy'][1 + i %% 3] AS kind,
			TIMESTAMP '2024-11-10' + to_minutes(i %% 10000) AS ts, round(i * 0.37, 2) AS amount
			FROM range(%d, %d) t(i)) TO '%s' (FORMAT json)`, i*rowsPerFile, (i+1)*rowsPerFile, filepath.Join(gen, fmt.Sprintf("f%d.json", i))))
	}
	land := func(i int) {
		t.Helper()
		name := fmt.Sprintf("f%d.json", i)
		if err := os.Rename(filepath.Join(gen, name), filepath.Join(landing, name)); err != nil {
			t.Fatal(err)
		}
	}
	land(0)
	const query = `SELECT id, kind, CAST(ts AS DATE) AS day, amount * 2 AS amount2 FROM events WHERE kind <> 'view'`
	mustExec(t, conn, fmt.Sprintf(`CREATE SOURCE events FROM FILES '%s' WITH (format = 'json')`, filepath.Join(landing, "*.json")))
	start := time.Now()
	mustExec(t, conn, `CREATE PIPELINE p PARTITION BY (day) AS `+query)
	runTime := time.Since(start)
	t.Logf("first run: %v", runTime)
	id := mustQueryText(t, conn, `SELECT id FROM sluice.pipelines WHERE name = 'p'`)[0][0]
	conn.Close(t.Context())

	kills := 0
	for i := 1; i < files; i++ {
		land(i)
		// Two kills per landed file, each at a random moment of a run (or
		// just after it): before, during and after the COPY, the moves and
		// the commit.
		for k := range 2 {
			conn := s.Connect(t)
			done := make(chan error, 1)
			go func() {
				_, err := conn.Exec(context.Background(), `REFRESH PIPELINE p`)
				done <- err
			}()
			window := int64(runTime) * 13 / 10
			if k == 1 {
				window *= 3 // sometimes after the commit
			}
			delay := time.Duration(rng.Int64N(window))
			select {
			case err := <-done:
				t.Logf("file %d: refresh finished before the kill at %v (err %v)", i, delay, err)
			case <-time.After(delay):
			}
			s.Kill(t)
			kills++
			t.Logf("file %d: killed after %v", i, delay)
			s = startServer(t, dataDir)
			checkCommittedFiles(t, s, dataDir, id)
		}
	}

	conn = s.Connect(t)
	mustExec(t, conn, `REFRESH PIPELINE p`)
	checkCommittedFiles(t, s, dataDir, id)
	// The clean run: a new pipeline over the same files, in one run.
	mustExec(t, conn, `CREATE PIPELINE clean PARTITION BY (day) AS `+query)
	const sum = `SELECT count(*), sum(hash(id, kind, day, amount2)), count(DISTINCT id) FROM `
	got := mustQueryText(t, conn, sum+"p")
	want := mustQueryText(t, conn, sum+"clean")
	direct := mustQueryText(t, conn, sum+"("+query+")")
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(got, direct) {
		t.Errorf("after %d kills: pipeline p has (count, checksum, distinct ids) %v; a clean run %v; the query over the source %v", kills, got, want, direct)
	}
	if got[0][0] == "0" {
		t.Errorf("pipeline p is empty")
	}
	inputs := mustQueryText(t, conn, fmt.Sprintf(`SELECT count(*), count(DISTINCT path) FROM sluice.pipeline_inputs WHERE object_id = %s`, id))
	if want := [][]string{{fmt.Sprint(files), fmt.Sprint(files)}}; !reflect.DeepEqual(inputs, want) {
		t.Errorf("consumed inputs (count, distinct paths) = %v, want %v", inputs, want)
	}
	t.Logf("runs: %v", mustQueryText(t, conn, `SELECT run_id, trigger, status, rows_out FROM sluice.runs WHERE object = 'p' ORDER BY run_id`))
}

// checkCommittedFiles checks that the files in pipeline id's data
// directory are exactly those the catalog committed.
func checkCommittedFiles(t *testing.T, s *server, dataDir, id string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), s.ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var committed []string
	for _, r := range mustQueryText(t, conn, `SELECT path FROM sluice.pipeline_files WHERE object_id = `+id+` ORDER BY path`) {
		committed = append(committed, r[0])
	}
	var onDisk []string
	err = filepath.WalkDir(filepath.Join(dataDir, "objects", id, "data"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			onDisk = append(onDisk, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(onDisk)
	if !reflect.DeepEqual(onDisk, committed) {
		t.Errorf("files on disk differ from the committed files\non disk:   %v\ncommitted: %v", onDisk, committed)
	}
}
