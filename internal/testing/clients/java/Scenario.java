// pgjdbc scenario (Debian's libpostgresql-jdbc-java, Java 17): prints one
// "PASS name" or "FAIL name: message" line per check.
import java.nio.file.*;
import java.sql.*;
import java.util.*;

public class Scenario {
    interface Check { void run() throws Exception; }

    static Connection conn;
    static int total, harbor;
    static String tripsGlob;

    static void expect(boolean cond, String msg) {
        if (!cond) throw new AssertionError(msg);
    }

    static boolean check(String name, Check c) {
        try {
            c.run();
            System.out.println("PASS " + name);
            return true;
        } catch (Throwable e) {
            String state = e instanceof SQLException ? " [" + ((SQLException) e).getSQLState() + "]" : "";
            System.out.println("FAIL " + name + ": " + (e.getClass().getSimpleName() + state + ": " + e.getMessage()).replace("\n", " | "));
            return false;
        } finally {
            System.out.flush();
        }
    }

    static List<String> column(ResultSet rs, String col) throws SQLException {
        List<String> out = new ArrayList<>();
        try (rs) {
            while (rs.next()) out.add(rs.getString(col));
        }
        return out;
    }

    static long scalar(String sql) throws SQLException {
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            expect(rs.next(), "no row: " + sql);
            return rs.getLong(1);
        }
    }

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        Path dir = Paths.get(args[1], "testdata", "trips");
        tripsGlob = dir.resolve("*.csv").toString();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.csv")) {
            for (Path p : ds) {
                List<String> lines = Files.readAllLines(p);
                for (String l : lines.subList(1, lines.size())) {
                    if (l.isEmpty()) continue;
                    total++;
                    if (l.split(",")[2].equals("Harbor")) harbor++;
                }
            }
        }
        // How to connect (internal/testing/clients sets these for the run over TLS
        // with SCRAM): SCENARIO_USER, SCENARIO_PASSWORD, SCENARIO_SSLMODE,
        // and SCENARIO_CHECKS, the checks to run (all if unset).
        String user = Objects.requireNonNullElse(System.getenv("SCENARIO_USER"), "sluice");
        String password = System.getenv("SCENARIO_PASSWORD");
        String sslmode = System.getenv("SCENARIO_SSLMODE");
        Set<String> only = new HashSet<>();
        for (String c : Objects.requireNonNullElse(System.getenv("SCENARIO_CHECKS"), "").split(",")) {
            if (!c.isEmpty()) only.add(c);
        }
        String ssl = sslmode == null ? "sslmode=disable" : "ssl=true&sslmode=" + sslmode;
        String url = "jdbc:postgresql://127.0.0.1:" + port + "/sluice?" + ssl + "&connectTimeout=10&prepareThreshold=5";
        Properties props = new Properties();
        props.setProperty("user", user);
        if (password != null) props.setProperty("password", password);

        LinkedHashMap<String, Check> checks = new LinkedHashMap<>();
        checks.put("create_source", () -> {
            try (Statement st = conn.createStatement()) {
                st.execute("CREATE SOURCE trips FROM FILES '" + tripsGlob + "' WITH (format = 'csv', header = true)");
            }
            expect(scalar("SELECT count(*) FROM trips") == total, "count(*) FROM trips");
        });
        checks.put("create_view", () -> {
            try (Statement st = conn.createStatement()) {
                st.execute("CREATE MATERIALIZED VIEW daily_fares PARTITION BY (day) AS SELECT CAST(pickup_at AS DATE) AS day, zone, count(*) AS trips, sum(fare) AS fares FROM trips GROUP BY ALL");
            }
        });
        checks.put("list_schemas", () -> {
            List<String> names = column(conn.createStatement().executeQuery("SELECT schema_name FROM information_schema.schemata"), "schema_name");
            expect(names.contains("public") || names.contains("main"), "schemata: " + names);
        });
        checks.put("list_relations", () -> {
            List<String> names = column(conn.createStatement().executeQuery("SELECT table_name FROM information_schema.tables"), "table_name");
            expect(names.contains("trips") && names.contains("daily_fares"), "tables: " + names);
        });
        checks.put("describe_view", () -> {
            try (PreparedStatement ps = conn.prepareStatement("SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position")) {
                ps.setString(1, "daily_fares");
                List<String> cols = column(ps.executeQuery(), "column_name");
                expect(cols.equals(List.of("day", "zone", "trips", "fares")), "columns: " + cols);
            }
        });
        checks.put("param_query", () -> {
            try (PreparedStatement ps = conn.prepareStatement("SELECT count(*) FROM trips WHERE zone = ?")) {
                ps.setString(1, "Harbor");
                try (ResultSet rs = ps.executeQuery()) {
                    expect(rs.next() && rs.getLong(1) == harbor, "count for Harbor");
                }
            }
        });
        checks.put("read_view", () -> {
            long sum = 0;
            try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SELECT day, zone, trips, fares FROM daily_fares ORDER BY day, zone")) {
                while (rs.next()) {
                    rs.getDate("day");
                    rs.getString("zone");
                    rs.getDouble("fares");
                    sum += rs.getLong("trips");
                }
            }
            expect(sum == total, "sum(trips) = " + sum);
        });
        checks.put("error_sqlstate", () -> {
            try (Statement st = conn.createStatement()) {
                st.executeQuery("SELECT * FROM no_such_table");
                throw new AssertionError("no error");
            } catch (SQLException e) {
                expect("42P01".equals(e.getSQLState()), "SQLState " + e.getSQLState() + ": " + e.getMessage());
            }
            expect(scalar("SELECT 1") == 1, "connection unusable after the error");
        });
        checks.put("get_schemas", () -> {
            List<String> names = column(conn.getMetaData().getSchemas(), "TABLE_SCHEM");
            expect(names.contains("public") || names.contains("main"), "getSchemas: " + names);
        });
        checks.put("get_tables", () -> {
            List<String> names = column(conn.getMetaData().getTables(null, null, "%", null), "TABLE_NAME");
            expect(names.contains("trips") && names.contains("daily_fares"), "getTables: " + names);
        });
        checks.put("get_columns", () -> {
            List<String> cols = column(conn.getMetaData().getColumns(null, null, "daily_fares", "%"), "COLUMN_NAME");
            expect(cols.equals(List.of("day", "zone", "trips", "fares")), "getColumns: " + cols);
        });
        checks.put("prepare_threshold", () -> {
            // prepareThreshold=5: from the 5th execution on, pgjdbc uses a
            // named server-side statement; run well past it.
            try (PreparedStatement ps = conn.prepareStatement("SELECT count(*) FROM trips WHERE zone = ? AND fare > ?")) {
                for (int i = 0; i < 12; i++) {
                    ps.setString(1, "Harbor");
                    ps.setDouble(2, -1.0 - i);
                    try (ResultSet rs = ps.executeQuery()) {
                        expect(rs.next() && rs.getLong(1) == harbor, "execution " + (i + 1));
                    }
                }
                expect(ps.unwrap(org.postgresql.PGStatement.class).isUseServerPrepare(), "statement never became server-prepared");
            }
        });
        checks.put("fetch_size", () -> {
            boolean auto = conn.getAutoCommit();
            conn.setAutoCommit(false); // pgjdbc streams with a portal only inside a transaction
            try (PreparedStatement ps = conn.prepareStatement("SELECT i FROM range(25000) t(i) ORDER BY i")) {
                ps.setFetchSize(1000);
                long n = 0, sum = 0;
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) { n++; sum += rs.getLong(1); }
                }
                expect(n == 25000 && sum == 25000L * 24999 / 2, "rows " + n + " sum " + sum);
                conn.commit();
            } finally {
                conn.setAutoCommit(auto);
            }
        });

        if (password != null) {
            checks.put("wrong_password", () -> {
                Properties bad = new Properties();
                bad.setProperty("user", user);
                bad.setProperty("password", "wrong " + password);
                try (Connection c = DriverManager.getConnection(url, bad)) {
                    throw new AssertionError("connected with a wrong password");
                } catch (SQLException e) {
                    expect("28P01".equals(e.getSQLState()), "SQLState " + e.getSQLState() + ": " + e.getMessage());
                }
            });
        }
        checks.put("cancel", () -> {
            long start = System.nanoTime();
            try (Statement st = conn.createStatement()) {
                Thread t = new Thread(() -> {
                    try { Thread.sleep(500); st.cancel(); } catch (Exception e) { /* reported by the query */ }
                });
                t.start();
                try {
                    st.executeQuery("SELECT count(*) FROM range(10000000000)");
                    throw new AssertionError("long query was not cancelled");
                } catch (SQLException e) {
                    expect("57014".equals(e.getSQLState()), "SQLState " + e.getSQLState() + ": " + e.getMessage());
                }
                t.join();
            }
            expect((System.nanoTime() - start) / 1e9 < 20, "cancel too slow");
            expect(scalar("SELECT 1") == 1, "connection unusable after cancel");
        });

        // connect: pgjdbc's defaults (it sends SET extra_float_digits = 3
        // after the startup). connect_session: the connection the other
        // checks use; when the default fails, assumeMinServerVersion=10 sends
        // extra_float_digits as a startup parameter instead.
        boolean plain = check("connect", () -> {
            conn = DriverManager.getConnection(url, props);
            expect(scalar("SELECT 1") == 1, "SELECT 1");
        });
        String sessionURL = plain ? url : url + "&assumeMinServerVersion=10";
        boolean ok = check("connect_session", () -> {
            if (conn == null) conn = DriverManager.getConnection(sessionURL, props);
            expect(scalar("SELECT 1") == 1, "SELECT 1");
        });
        for (Map.Entry<String, Check> e : checks.entrySet()) {
            if (!only.isEmpty() && !only.contains(e.getKey())) continue;
            if (ok) check(e.getKey(), e.getValue());
            else System.out.println("FAIL " + e.getKey() + ": blocked by connect_session");
        }
        if (conn != null) conn.close();
    }
}
