//go:build duckdb_arrow

package engine

import "context"

// MemoryUse is one tag of duckdb_memory(): what DuckDB's buffer manager
// holds for one purpose (BASE_TABLE, HASH_TABLE, PARQUET_READER, ...).
type MemoryUse struct {
	Tag       string
	Memory    int64 // bytes in memory
	Temporary int64 // bytes spilled to the temporary directory
}

// Stats is what DuckDB uses now: memory by tag and the spill files.
type Stats struct {
	Memory    []MemoryUse
	TempFiles int   // files in the temporary directory (duckdb_temporary_files())
	TempBytes int64 // their size
}

// Stats reads duckdb_memory() and duckdb_temporary_files(), bounded by ctx.
func (db *DB) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	rows, err := db.sqlDB.QueryContext(ctx, `SELECT tag, memory_usage_bytes, temporary_storage_bytes FROM duckdb_memory() ORDER BY tag`)
	if err != nil {
		return st, err
	}
	defer rows.Close()
	for rows.Next() {
		var m MemoryUse
		if err := rows.Scan(&m.Tag, &m.Memory, &m.Temporary); err != nil {
			return st, err
		}
		st.Memory = append(st.Memory, m)
	}
	if err := rows.Err(); err != nil {
		return st, err
	}
	err = db.sqlDB.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(size), 0)::BIGINT FROM duckdb_temporary_files()`).Scan(&st.TempFiles, &st.TempBytes)
	return st, err
}
