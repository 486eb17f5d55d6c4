import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/**
 * A reader role through pgjdbc: DatabaseMetaData lists only what it was
 * granted, it reads that, and it is refused (42501) the rest. Run by
 * clients_test.go's TestReaderRole.
 */
public class ReaderScenario {
    interface Check { void run() throws Exception; }

    static void check(String name, Check c) {
        try {
            c.run();
            System.out.println("PASS " + name);
        } catch (Throwable e) {
            String code = e instanceof SQLException ? " [" + ((SQLException) e).getSQLState() + "]" : "";
            System.out.println("FAIL " + name + ": " + e.getClass().getSimpleName() + code + ": " + String.valueOf(e.getMessage()).replace('\n', ' '));
        }
        System.out.flush();
    }

    static void expect(boolean cond, String msg) {
        if (!cond) throw new AssertionError(msg);
    }

    public static void main(String[] args) throws Exception {
        String url = "jdbc:postgresql://127.0.0.1:" + args[0] + "/sluice";
        Properties p = new Properties();
        p.setProperty("user", System.getenv("SCENARIO_USER"));
        String visible = System.getenv("SCENARIO_VISIBLE");
        String hidden = System.getenv("SCENARIO_HIDDEN");
        try (Connection conn = DriverManager.getConnection(url, p)) {
            check("jdbc_get_tables", () -> {
                DatabaseMetaData md = conn.getMetaData();
                List<String> names = new ArrayList<>();
                try (ResultSet rs = md.getTables(null, "public", "%", null)) {
                    while (rs.next()) names.add(rs.getString("TABLE_NAME"));
                }
                expect(names.size() == 1 && names.get(0).equals(visible), "getTables: " + names);
            });
            check("jdbc_reads", () -> {
                try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SELECT count(*) FROM " + visible)) {
                    expect(rs.next() && rs.getLong(1) > 0, "no rows");
                }
            });
            check("jdbc_refused", () -> {
                try (Statement st = conn.createStatement()) {
                    st.executeQuery("SELECT * FROM " + hidden);
                    throw new AssertionError("read " + hidden);
                } catch (SQLException e) {
                    expect("42501".equals(e.getSQLState()), "SQLSTATE " + e.getSQLState() + ": " + e.getMessage());
                }
                try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SELECT 1")) {
                    expect(rs.next(), "session unusable");
                }
            });
        }
    }
}
