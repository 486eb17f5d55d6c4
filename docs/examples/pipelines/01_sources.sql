-- The raw data: three days of taxi trips (testdata/trips in the
-- repository). A relative path resolves against the gateway's working
-- directory.
CREATE SOURCE trips FROM FILES 'testdata/trips/*.csv' WITH (format = 'csv', header = true);
