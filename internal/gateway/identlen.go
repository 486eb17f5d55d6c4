package gateway

import (
	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/sql"
	"github.com/sluice-db/sluice/wire"
)

// truncateIdentifiers applies PostgreSQL's identifier length rule to a
// query before anything reads it (Sluice's own statements and DuckDB's
// alike): an identifier over 63 bytes is cut to 63, with NOTICE 42622 to w
// when there is one (Parse has none: the extended protocol truncates
// without it).
func truncateIdentifiers(query string, w wire.ResultWriter) (string, error) {
	out, cuts := sql.TruncateIdentifiers(query)
	if w == nil {
		return out, nil
	}
	for _, c := range cuts {
		if err := w.Notice(pgerr.New(pgerrcode.NameTooLong, "%s", c.Notice())); err != nil {
			return "", err
		}
	}
	return out, nil
}
