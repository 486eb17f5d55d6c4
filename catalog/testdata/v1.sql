-- The catalog as version 1 (commit 9ec9bf8) created it: every table in
-- schema sluice. store_test.go opens it to test the migration.
CREATE SCHEMA IF NOT EXISTS sluice;
CREATE SCHEMA IF NOT EXISTS public;
CREATE SEQUENCE IF NOT EXISTS sluice.object_ids START 1;
CREATE SEQUENCE IF NOT EXISTS sluice.run_ids START 1;
CREATE TABLE IF NOT EXISTS sluice.meta (
		key   VARCHAR NOT NULL,
		value VARCHAR
	);
CREATE TABLE IF NOT EXISTS sluice.sources (
		id          BIGINT NOT NULL,
		schema      VARCHAR NOT NULL,
		name        VARCHAR NOT NULL,
		connector   VARCHAR NOT NULL,
		location    VARCHAR,
		options     MAP(VARCHAR, VARCHAR),
		created_at  TIMESTAMPTZ NOT NULL
	);
CREATE TABLE IF NOT EXISTS sluice.materialized_views (
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
	);
CREATE TABLE IF NOT EXISTS sluice.versions (
		object_id    BIGINT NOT NULL,
		object       VARCHAR NOT NULL,
		version      BIGINT NOT NULL,
		path         VARCHAR NOT NULL,
		rows         BIGINT NOT NULL,
		files        BIGINT NOT NULL,
		bytes        BIGINT NOT NULL,
		created_at   TIMESTAMPTZ NOT NULL,
		retired_at   TIMESTAMPTZ
	);
CREATE TABLE IF NOT EXISTS sluice.partitions (
		object     VARCHAR NOT NULL,
		schema     VARCHAR NOT NULL,
		object_id  BIGINT NOT NULL,
		version    BIGINT NOT NULL,
		partition  VARCHAR NOT NULL,
		files      BIGINT NOT NULL,
		rows       BIGINT NOT NULL,
		bytes      BIGINT NOT NULL
	);
CREATE TABLE IF NOT EXISTS sluice.runs (
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
	);
CREATE TABLE IF NOT EXISTS sluice.dependencies (
		object            VARCHAR NOT NULL,
		object_schema     VARCHAR NOT NULL,
		object_kind       VARCHAR NOT NULL,
		depends_on        VARCHAR NOT NULL,
		depends_on_schema VARCHAR NOT NULL,
		depends_on_kind   VARCHAR NOT NULL
	);
CREATE TABLE IF NOT EXISTS sluice.pipelines (
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
	);
CREATE TABLE IF NOT EXISTS sluice.pipeline_files (
		object_id  BIGINT NOT NULL,
		path       VARCHAR NOT NULL,
		partition  VARCHAR NOT NULL,
		rows       BIGINT NOT NULL,
		bytes      BIGINT NOT NULL,
		run_id     BIGINT NOT NULL
	);
CREATE TABLE IF NOT EXISTS sluice.pipeline_inputs (
		object_id  BIGINT NOT NULL,
		source     VARCHAR NOT NULL,
		path       VARCHAR NOT NULL,
		size       BIGINT NOT NULL,
		mtime      TIMESTAMPTZ NOT NULL,
		run_id     BIGINT NOT NULL
	);
ALTER TABLE sluice.materialized_views ADD COLUMN IF NOT EXISTS constraints VARCHAR;
CREATE TABLE IF NOT EXISTS sluice.quality (
		object       VARCHAR NOT NULL,
		schema       VARCHAR NOT NULL,
		object_id    BIGINT NOT NULL,
		run_id       BIGINT NOT NULL,
		"constraint" VARCHAR NOT NULL,
		action       VARCHAR NOT NULL,
		violations   BIGINT NOT NULL,
		checked_at   TIMESTAMPTZ NOT NULL
	);
CREATE SEQUENCE IF NOT EXISTS sluice.role_ids START 16385;
CREATE TABLE IF NOT EXISTS sluice.roles (
		oid         BIGINT NOT NULL,
		name        VARCHAR NOT NULL,
		login       BOOLEAN NOT NULL,
		verifier    VARCHAR,
		created_at  TIMESTAMPTZ NOT NULL,
		updated_at  TIMESTAMPTZ NOT NULL
	);
ALTER TABLE sluice.materialized_views ADD COLUMN IF NOT EXISTS schedule VARCHAR;
ALTER TABLE sluice.materialized_views ADD COLUMN IF NOT EXISTS suspended BOOLEAN DEFAULT false;
ALTER TABLE sluice.materialized_views ADD COLUMN IF NOT EXISTS next_run TIMESTAMPTZ;
ALTER TABLE sluice.materialized_views ADD COLUMN IF NOT EXISTS last_attempt TIMESTAMPTZ;
ALTER TABLE sluice.pipelines ADD COLUMN IF NOT EXISTS schedule VARCHAR;
ALTER TABLE sluice.pipelines ADD COLUMN IF NOT EXISTS suspended BOOLEAN DEFAULT false;
ALTER TABLE sluice.pipelines ADD COLUMN IF NOT EXISTS next_run TIMESTAMPTZ;
ALTER TABLE sluice.pipelines ADD COLUMN IF NOT EXISTS last_attempt TIMESTAMPTZ;
ALTER TABLE sluice.pipelines ADD COLUMN IF NOT EXISTS constraints VARCHAR;
CREATE OR REPLACE VIEW sluice.scheduled_objects AS
		SELECT id, schema, name, 'materialized view' AS kind, refresh, schedule, coalesce(suspended, false) AS suspended,
			status, next_run, last_refresh, last_attempt, options
		FROM sluice.materialized_views
		UNION ALL
		SELECT id, schema, name, 'pipeline' AS kind, refresh, schedule, coalesce(suspended, false) AS suspended,
			status, next_run, last_refresh, last_attempt, options
		FROM sluice.pipelines;
CREATE OR REPLACE VIEW sluice.schedules AS
		SELECT name AS object, schema, kind, refresh,
			CASE WHEN suspended THEN 'suspended' ELSE status END AS status,
			CASE WHEN suspended THEN NULL ELSE next_run END AS next_run,
			last_refresh AS last_success, last_attempt,
			now() - last_refresh AS staleness
		FROM sluice.scheduled_objects;
ALTER TABLE sluice.sources ADD COLUMN IF NOT EXISTS arrow_schema VARCHAR;
CREATE TABLE IF NOT EXISTS sluice.pipeline_positions (
		object_id BIGINT NOT NULL,
		source    VARCHAR NOT NULL,
		position  VARCHAR NOT NULL,
		run_id    BIGINT NOT NULL
	);
