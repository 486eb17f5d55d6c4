package deploy

import (
	"fmt"
	"strings"
)

// ConnFlags are plan's and apply's connection settings: a connection URL
// (or key=value string), or the separate settings. What neither gives
// comes from libpq's environment variables (PGHOST, PGPORT, PGUSER,
// PGDATABASE, PGPASSWORD, PGPASSFILE, PGSSLMODE, PGSSLROOTCERT, ...), as
// pgx reads them, and then from the gateway's defaults: 127.0.0.1:5433,
// user and database sluice.
type ConnFlags struct {
	URL     string
	Host    string
	Port    string
	User    string
	DBName  string
	SSLMode string
}

// ConnString returns the pgx connection string; getenv reads the
// environment (os.Getenv).
func (f ConnFlags) ConnString(getenv func(string) string) (string, error) {
	if f.URL != "" {
		if f.Host != "" || f.Port != "" || f.User != "" || f.DBName != "" || f.SSLMode != "" {
			return "", fmt.Errorf("give --url or --host, --port, --user, --dbname and --sslmode, not both")
		}
		return f.URL, nil
	}
	var kv []string
	set := func(key, flag, env, def string) {
		switch {
		case flag != "":
			kv = append(kv, key+"="+quoteValue(flag))
		case getenv(env) == "" && def != "":
			kv = append(kv, key+"="+quoteValue(def))
		}
	}
	set("host", f.Host, "PGHOST", "127.0.0.1")
	set("port", f.Port, "PGPORT", "5433")
	set("user", f.User, "PGUSER", "sluice")
	set("dbname", f.DBName, "PGDATABASE", "sluice")
	set("sslmode", f.SSLMode, "PGSSLMODE", "")
	if getenv("PGAPPNAME") == "" {
		kv = append(kv, "application_name=sluice-deploy")
	}
	return strings.Join(kv, " "), nil
}

// quoteValue quotes a key=value connection setting.
func quoteValue(v string) string {
	if v != "" && !strings.ContainsAny(v, ` '\`) {
		return v
	}
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}
