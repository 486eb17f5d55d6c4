package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
)

// Constraint is an EXPECT quality gate of a materialized view or pipeline.
type Constraint struct {
	Name      string `json:"name"`
	Predicate string `json:"predicate"`
	Action    string `json:"action"` // FAIL, DROP ROW or WARN
}

// QualityCount is the outcome of one constraint in one run.
type QualityCount struct {
	Constraint Constraint
	Violations int64
}

func constraintsJSON(cs []Constraint) sql.NullString {
	if len(cs) == 0 {
		return sql.NullString{}
	}
	b, _ := json.Marshal(cs)
	return sql.NullString{String: string(b), Valid: true}
}

func scanConstraints(js string) []Constraint {
	if js == "" {
		return nil
	}
	var cs []Constraint
	_ = json.Unmarshal([]byte(js), &cs)
	return cs
}

// RecordQuality records the violations counted by a run, one row of
// sluice.quality per constraint. It commits at once, so the counts of a run
// that then fails (a FAIL constraint) stay visible.
func (s *Store) RecordQuality(ctx context.Context, r *Run, counts []QualityCount) error {
	if len(counts) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, c := range counts {
			if _, err := tx.ExecContext(ctx, `INSERT INTO sluice_catalog.quality VALUES ($1, $2, $3, $4, $5, $6, $7, now())`,
				r.Object.Name, r.Object.Schema, r.ObjectID, r.ID, c.Constraint.Name, c.Constraint.Action, c.Violations); err != nil {
				return err
			}
		}
		return nil
	})
}

// SetViewStatus sets a materialized view's or pipeline's status (e.g.
// "failed" after a refresh exhausted its retries; a successful publish sets
// "fresh", a successful pipeline run "active").
func (s *Store) SetViewStatus(ctx context.Context, id int64, status string) error {
	return s.SetStatus(ctx, id, status)
}

// Partitions returns the partitions of the object's current version.
func (s *Store) Partitions(ctx context.Context, objectID int64) ([]PartitionStat, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT partition, files, rows, bytes FROM sluice_catalog.partitions WHERE object_id = $1 ORDER BY partition`, objectID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PartitionStat
	for rows.Next() {
		var p PartitionStat
		if err := rows.Scan(&p.Partition, &p.Files, &p.Rows, &p.Bytes); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
