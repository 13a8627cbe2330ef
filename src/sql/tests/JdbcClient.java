// The SQL endpoint through the PostgreSQL JDBC driver (Debian libpostgresql-jdbc-java), as BI tools
// and DBeaver use it: DatabaseMetaData, PreparedStatement with a date parameter, fetch size, errors.
// Run: java -cp /usr/share/java/postgresql.jar JdbcClient.java PORT PASSWORD. Exit 0 = every check held.
import java.math.BigDecimal;
import java.sql.*;
import java.util.*;

public class JdbcClient {
  static void check(boolean ok, String what) {
    if (!ok) throw new AssertionError(what);
  }

  public static void main(String[] args) throws Exception {
    String url = "jdbc:postgresql://127.0.0.1:" + args[0] + "/warehouse?sslmode=disable&ApplicationName=jdbc-test";
    try (Connection c = DriverManager.getConnection(url, "researcher", args[1])) {
      DatabaseMetaData md = c.getMetaData();
      check(md.getDatabaseProductName().equals("PostgreSQL"), "product " + md.getDatabaseProductName());
      // Tables of the serving schema, as a BI tool's table browser lists them.
      Set<String> tables = new TreeSet<>();
      try (ResultSet rs = md.getTables(null, "serving", "%", new String[] {"TABLE"})) {
        while (rs.next()) tables.add(rs.getString("TABLE_SCHEM") + "." + rs.getString("TABLE_NAME"));
      }
      check(tables.contains("serving.fct_heart_rates") && tables.contains("serving.dim_users"), "getTables " + tables);
      Set<String> schemas = new TreeSet<>();
      try (ResultSet rs = md.getSchemas()) {
        while (rs.next()) schemas.add(rs.getString("TABLE_SCHEM"));
      }
      check(schemas.containsAll(List.of("raw", "staging", "serving")), "getSchemas " + schemas);
      Map<String, String> columns = new LinkedHashMap<>();
      try (ResultSet rs = md.getColumns(null, "serving", "fct_heart_rates", "%")) {
        while (rs.next()) columns.put(rs.getString("COLUMN_NAME"), rs.getString("TYPE_NAME") + "/" + rs.getInt("DATA_TYPE"));
      }
      check(columns.get("heart_rate") != null && columns.get("heart_rate").equals("int8/" + Types.BIGINT), "getColumns " + columns);
      check(columns.get("event_date") != null && columns.get("event_date").equals("date/" + Types.DATE), "getColumns " + columns);

      // What DBeaver-like tools ask next: keys, indexes, types (the warehouse declares no keys).
      try (ResultSet rs = md.getPrimaryKeys(null, "serving", "dim_users")) {
        check(!rs.next(), "no primary keys");
      }
      try (ResultSet rs = md.getIndexInfo(null, "serving", "dim_users", false, true)) {
        while (rs.next()) {}
      }
      try (ResultSet rs = md.getImportedKeys(null, "serving", "fct_heart_rates")) {
        check(!rs.next(), "no foreign keys");
      }
      Set<String> types = new TreeSet<>();
      try (ResultSet rs = md.getTypeInfo()) {
        while (rs.next()) types.add(rs.getString("TYPE_NAME"));
      }
      check(types.containsAll(List.of("int8", "float8", "varchar", "date", "timestamp", "numeric")), "getTypeInfo " + types);
      try (ResultSet rs = md.getClientInfoProperties()) {
        while (rs.next()) {}
      }

      // A PreparedStatement with a date parameter, run often enough to become a server-side prepared
      // statement (the driver then asks for binary results).
      try (PreparedStatement ps = c.prepareStatement(
               "SELECT count(*) AS n, max(heart_rate) AS top, min(event_datetime) AS first FROM serving.fct_heart_rates WHERE event_date >= ?")) {
        for (int i = 0; i < 8; i++) {
          ps.setDate(1, java.sql.Date.valueOf("2024-07-01"));
          try (ResultSet rs = ps.executeQuery()) {
            check(rs.next(), "a row");
            check(rs.getLong("n") == 4, "count " + rs.getLong("n"));
            check(rs.getLong("top") == 110, "max " + rs.getLong("top"));
            check(rs.getTimestamp("first").toString().equals("2024-07-01 10:00:00.0"), "first " + rs.getTimestamp("first"));
          }
        }
      }
      try (PreparedStatement ps = c.prepareStatement(
               "SELECT a.activity_name, f.heart_rate, f.avg_heart_rate, CAST(f.heart_rate AS DECIMAL(10,2)) AS d "
               + "FROM serving.fct_heart_rates f JOIN serving.dim_activities a USING (activity_key) "
               + "WHERE a.activity_name = ? AND f.heart_rate > ? ORDER BY f.heart_rate")) {
        for (int i = 0; i < 6; i++) {
          ps.setString(1, "Run");
          ps.setInt(2, 145);
          List<String> got = new ArrayList<>();
          try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
              got.add(rs.getString(1) + ":" + rs.getLong(2) + ":" + rs.getObject(3) + ":" + rs.getBigDecimal(4));
            }
          }
          check(got.equals(List.of("Run:150:null:150.00", "Run:160:null:160.00")), "join " + got);
        }
      }
      // A cursor-style read: autocommit off and a fetch size make the driver page through a portal.
      c.setAutoCommit(false);
      try (Statement st = c.createStatement()) {
        st.setFetchSize(3);
        long sum = 0, n = 0;
        try (ResultSet rs = st.executeQuery("SELECT heart_rate FROM serving.fct_heart_rates ORDER BY event_datetime")) {
          while (rs.next()) {
            sum += rs.getLong(1);
            n++;
          }
        }
        check(n == 10 && sum == 1015, "fetch size: n=" + n + " sum=" + sum);
      }
      c.commit();
      c.setAutoCommit(true);
      // Writes are refused with SQLSTATE 25006.
      try (Statement st = c.createStatement()) {
        st.executeUpdate("DELETE FROM serving.fct_heart_rates");
        throw new AssertionError("DELETE accepted");
      } catch (SQLException e) {
        check("25006".equals(e.getSQLState()), "DELETE: " + e.getSQLState() + " " + e.getMessage());
      }
      try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT count(*) FROM serving.fct_heart_rates")) {
        check(rs.next() && rs.getLong(1) == 10, "rows still there");
      }
    }
    System.out.println("jdbc: all checks passed");
  }
}
