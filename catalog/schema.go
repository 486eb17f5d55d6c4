package catalog

// The catalog lives in DuckDB itself, in schema "sluice_catalog" of the
// gateway's database: definitions, versions, partitions, runs and lineage
// commit in the same transactions as the DuckDB views that expose the
// objects, so a publish is atomic for readers and survives a crash through
// DuckDB's WAL.
//
// Users never read these tables: the system tables of SQL-SURFACE.md
// (sluice.runs, ...) are views over them that show each role only the rows
// of the objects it may see (system.go).

// schemaVersion is bumped whenever ddl changes shape in a way
// CREATE ... IF NOT EXISTS cannot express; migrate converts older catalogs.
// Version 1 kept the tables in schema sluice itself.
const schemaVersion = 2

var ddl = []string{
	`CREATE SCHEMA IF NOT EXISTS sluice`,
	`CREATE SCHEMA IF NOT EXISTS sluice_catalog`,
	`CREATE SCHEMA IF NOT EXISTS public`,
	`CREATE SEQUENCE IF NOT EXISTS sluice_catalog.object_ids START 1`,
	`CREATE SEQUENCE IF NOT EXISTS sluice_catalog.run_ids START 1`,
	`CREATE TABLE IF NOT EXISTS sluice_catalog.meta (
		key   VARCHAR NOT NULL,
		value VARCHAR
	)`,
	`CREATE TABLE IF NOT EXISTS sluice_catalog.sources (
		id          BIGINT NOT NULL,
		schema      VARCHAR NOT NULL,
		name        VARCHAR NOT NULL,
		connector   VARCHAR NOT NULL,
		location    VARCHAR,
		options     MAP(VARCHAR, VARCHAR),
		created_at  TIMESTAMPTZ NOT NULL
	)`,
	`CREATE TABLE IF NOT EXISTS sluice_catalog.materialized_views (
		id              BIGINT NOT NULL,
		schema          VARCHAR NOT NULL,
		name            VARCHAR NOT NULL,
		query           VARCHAR NOT NULL,
		partition_by    VARCHAR[] NOT NULL,
		options         MAP(VARCHAR, VARCHAR),
		refresh         VARCHAR NOT NULL,
		status          VARCHAR NOT NULL,
		version         BIGINT,
		rows            BIGINT,
		files           BIGINT,
		bytes           BIGINT,
		last_refresh    TIMESTAMPTZ,
		created_at      TIMESTAMPTZ NOT NULL
	)`,
	`CREATE TABLE IF NOT EXISTS sluice_catalog.versions (
		object_id    BIGINT NOT NULL,
		object       VARCHAR NOT NULL,
		version      BIGINT NOT NULL,
		path         VARCHAR NOT NULL,
		rows         BIGINT NOT NULL,
		files        BIGINT NOT NULL,
		bytes        BIGINT NOT NULL,
		created_at   TIMESTAMPTZ NOT NULL,
		retired_at   TIMESTAMPTZ
	)`,
	`CREATE TABLE IF NOT EXISTS sluice_catalog.partitions (
		object     VARCHAR NOT NULL,
		schema     VARCHAR NOT NULL,
		object_id  BIGINT NOT NULL,
		version    BIGINT NOT NULL,
		partition  VARCHAR NOT NULL,
		files      BIGINT NOT NULL,
		rows       BIGINT NOT NULL,
		bytes      BIGINT NOT NULL
	)`,
	`CREATE TABLE IF NOT EXISTS sluice_catalog.runs (
		run_id         BIGINT NOT NULL,
		object         VARCHAR NOT NULL,
		schema         VARCHAR NOT NULL,
		object_id      BIGINT NOT NULL,
		trigger        VARCHAR NOT NULL,
		attempt        INTEGER NOT NULL,
		status         VARCHAR NOT NULL,
		started_at     TIMESTAMPTZ NOT NULL,
		finished_at    TIMESTAMPTZ,
		rows_in        BIGINT,
		rows_out       BIGINT,
		files_written  BIGINT,
		bytes_written  BIGINT,
		version        BIGINT,
		error          VARCHAR
	)`,
	`CREATE TABLE IF NOT EXISTS sluice_catalog.dependencies (
		object            VARCHAR NOT NULL,
		object_schema     VARCHAR NOT NULL,
		object_kind       VARCHAR NOT NULL,
		depends_on        VARCHAR NOT NULL,
		depends_on_schema VARCHAR NOT NULL,
		depends_on_kind   VARCHAR NOT NULL
	)`,
	// Pipelines (pipelines.go): definitions, every committed output file (the
	// pipeline's view reads exactly these), every consumed input file.
	`CREATE TABLE IF NOT EXISTS sluice_catalog.pipelines (
		id              BIGINT NOT NULL,
		schema          VARCHAR NOT NULL,
		name            VARCHAR NOT NULL,
		query           VARCHAR NOT NULL,
		partition_by    VARCHAR[] NOT NULL,
		options         MAP(VARCHAR, VARCHAR),
		refresh         VARCHAR NOT NULL,
		status          VARCHAR NOT NULL,
		columns         VARCHAR NOT NULL,
		sources         VARCHAR[] NOT NULL,
		path            VARCHAR NOT NULL,
		rows            BIGINT NOT NULL,
		files           BIGINT NOT NULL,
		bytes           BIGINT NOT NULL,
		last_run        BIGINT,
		last_refresh    TIMESTAMPTZ,
		created_at      TIMESTAMPTZ NOT NULL
	)`,
	`CREATE TABLE IF NOT EXISTS sluice_catalog.pipeline_files (
		object_id  BIGINT NOT NULL,
		path       VARCHAR NOT NULL,
		partition  VARCHAR NOT NULL,
		rows       BIGINT NOT NULL,
		bytes      BIGINT NOT NULL,
		run_id     BIGINT NOT NULL
	)`,
	`CREATE TABLE IF NOT EXISTS sluice_catalog.pipeline_inputs (
		object_id  BIGINT NOT NULL,
		source     VARCHAR NOT NULL,
		path       VARCHAR NOT NULL,
		size       BIGINT NOT NULL,
		mtime      TIMESTAMPTZ NOT NULL,
		run_id     BIGINT NOT NULL
	)`,
	// Quality gates (quality.go): EXPECT constraints as a JSON array, and per
	// run the violations counted for each.
	`ALTER TABLE sluice_catalog.materialized_views ADD COLUMN IF NOT EXISTS constraints VARCHAR`,
	`CREATE TABLE IF NOT EXISTS sluice_catalog.quality (
		object       VARCHAR NOT NULL,
		schema       VARCHAR NOT NULL,
		object_id    BIGINT NOT NULL,
		run_id       BIGINT NOT NULL,
		"constraint" VARCHAR NOT NULL,
		action       VARCHAR NOT NULL,
		violations   BIGINT NOT NULL,
		checked_at   TIMESTAMPTZ NOT NULL
	)`,
	roleIDsDDL, rolesDDL, // roles.go: CREATE ROLE
	secretsDDL, credentialsDDL, // secrets.go: CREATE SECRET, sources' credentials
	// Encryption at rest: the name of the key each version and each
	// pipeline file was written with (NULL: plaintext), so every one is read
	// with its own key after an ALTER changed the option.
	`ALTER TABLE sluice_catalog.versions ADD COLUMN IF NOT EXISTS encryption_key VARCHAR`,
	`ALTER TABLE sluice_catalog.pipeline_files ADD COLUMN IF NOT EXISTS encryption_key VARCHAR`,
	// The SQLSTATE of a failed run's error, beside its message (the status
	// page shows both).
	`ALTER TABLE sluice_catalog.runs ADD COLUMN IF NOT EXISTS sqlstate VARCHAR`,
}
