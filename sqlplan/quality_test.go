package sqlplan

import (
	"strings"
	"testing"
	"time"

	"github.com/sluice-db/sluice/internal/pgerr"
)

func TestQualityAndBackfillPlans(t *testing.T) {
	cs := []Constraint{
		{Name: "positive", Predicate: "fares > 0", Action: ActionDropRow},
		{Name: "has_zone", Predicate: "zone IS NOT NULL", Action: ActionWarn},
		{Name: "sane", Predicate: "trips < 1000000", Action: ActionFail},
	}
	var b strings.Builder
	b.WriteString("-- quality check of one predicate (CREATE)\n" + QualityCheckSQL("SELECT * FROM fares", cs[0]) + "\n")
	b.WriteString("-- quality count\n" + QualityCountSQL("SELECT * FROM fares -- trailing comment", cs) + "\n")
	b.WriteString("-- drop rows\n" + FilterDropRows("SELECT * FROM fares", cs) + "\n")
	b.WriteString("-- drop rows, none to drop\n" + FilterDropRows("SELECT * FROM fares", cs[1:]) + "\n")
	fs, err := BindPartition(fareCols, []string{"day", "zone"}, [][2]string{{"day", "2024-11-14"}, {"zone", "it's"}})
	if err != nil {
		t.Fatal(err)
	}
	b.WriteString("-- partition values\n" + PartitionValuesSQL(fs) + "\n")
	b.WriteString("-- backfill query\n" + BackfillQuery("SELECT * FROM fares", fs) + "\n")
	b.WriteString("-- backfill with quality gates\n" + FilterDropRows(BackfillQuery("SELECT * FROM fares", fs[:1]), cs) + "\n")
	golden(t, "quality", b.String())
}

func TestBindPartitionErrors(t *testing.T) {
	for _, c := range []struct {
		pairs [][2]string
		code  string
	}{
		{[][2]string{{"trips", "1"}}, "42703"},
		{[][2]string{{"nope", "1"}}, "42703"},
		{[][2]string{{"day", "2024-11-14"}, {"day", "2024-11-15"}}, "42701"},
	} {
		_, err := BindPartition(fareCols, []string{"day", "zone"}, c.pairs)
		if pgerr.Code(err) != c.code {
			t.Errorf("%v: got %v, want %s", c.pairs, err, c.code)
		}
	}
}

func TestInPartitions(t *testing.T) {
	vals := map[string]string{"day": "2024-11-14"}
	for part, want := range map[string]bool{
		"day=2024-11-14":              true,
		"day=2024-11-14/zone=Airport": true,
		"day=2024-11-15/zone=Airport": false,
		"zone=Airport":                false,
	} {
		if got := InPartitions(part, vals); got != want {
			t.Errorf("InPartitions(%q) = %v, want %v", part, got, want)
		}
	}
	if !InPartitions("zone=New%20York", map[string]string{"zone": "New York"}) {
		t.Error("escaped partition value not matched")
	}
}

func TestParseInterval(t *testing.T) {
	for s, want := range map[string]time.Duration{
		"5s": 5 * time.Second, "500ms": 500 * time.Millisecond, "2m30s": 150 * time.Second,
		"1 minute": time.Minute, "1 hour 30 minutes": 90 * time.Minute, " 90 seconds ": 90 * time.Second, "2 days": 48 * time.Hour,
	} {
		got, err := ParseInterval(s)
		if err != nil || got != want {
			t.Errorf("ParseInterval(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "soon", "-5s", "0s", "5 parsecs", "s"} {
		if _, err := ParseInterval(s); err == nil {
			t.Errorf("ParseInterval(%q) succeeded", s)
		}
	}
}

func TestRetryOptions(t *testing.T) {
	opts, err := ValidateViewOptions(map[string]string{"retries": "3", "retry_backoff": "1 minute", "timeout": "2m30s"})
	if err != nil {
		t.Fatal(err)
	}
	p := Retry(opts)
	if p.Retries != 3 || p.Backoff != time.Minute || p.Timeout != 150*time.Second {
		t.Errorf("Retry(%v) = %+v", opts, p)
	}
	if p := Retry(nil); p.Retries != 0 || p.Backoff != DefaultRetryBackoff || p.Timeout != 0 {
		t.Errorf("default policy %+v", p)
	}
	for _, bad := range []map[string]string{{"retries": "-1"}, {"retries": "many"}, {"retry_backoff": "soon"}, {"timeout": "0s"}} {
		if _, err := ValidateViewOptions(bad); pgerr.Code(err) != "22023" {
			t.Errorf("%v: got %v, want 22023", bad, err)
		}
	}
}

func TestBackoff(t *testing.T) {
	base := 5 * time.Second
	for _, c := range []struct {
		attempt int
		rnd     float64
		want    time.Duration
	}{
		{1, 0.5, 5 * time.Second},  // jitter factor 1
		{2, 0.5, 10 * time.Second}, // doubled
		{3, 0.5, 20 * time.Second}, // doubled again
		{3, 0, 10 * time.Second},   // factor 0.5
		{3, 0.999, 29980 * time.Millisecond},
		{30, 0.5, time.Hour}, // capped
	} {
		got := Backoff(base, c.attempt, c.rnd).Round(10 * time.Millisecond)
		if got != c.want {
			t.Errorf("Backoff(5s, %d, %v) = %v, want %v", c.attempt, c.rnd, got, c.want)
		}
	}
}
