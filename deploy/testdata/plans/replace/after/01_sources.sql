CREATE SOURCE trips FROM FILES '../testdata/trips/*.csv' WITH (format = 'csv', header = true);
