"""The SQL endpoint through Python's psycopg2 (Debian python3-psycopg2), as an analyst uses it.

Usage: psycopg2_client.py PORT PASSWORD. Exit 0 = every check held, 77 = psycopg2 missing, else failure.
"""
import datetime
import decimal
import sys

try:
    import psycopg2
except ImportError as e:  # a visible skip, not a pass
    print(f"psycopg2 is not installed: {e}")
    sys.exit(77)

port, password = int(sys.argv[1]), sys.argv[2]
conn = psycopg2.connect(host="127.0.0.1", port=port, user="researcher", password=password, dbname="warehouse",
                        sslmode="disable", application_name="psycopg2-test")
cur = conn.cursor()

# Parameters (psycopg2 binds them client-side) and PostgreSQL types turned into Python ones.
cur.execute("SELECT user_key, heart_rate, event_date, event_datetime FROM serving.fct_heart_rates "
            "WHERE heart_rate > %s AND event_date < %s ORDER BY event_datetime", (100, datetime.date(2024, 2, 1)))
rows = cur.fetchall()
assert rows == [("k1", 150, datetime.date(2024, 1, 10), datetime.datetime(2024, 1, 10, 8, 0, 0)),
                ("k1", 160, datetime.date(2024, 1, 10), datetime.datetime(2024, 1, 10, 8, 0, 5)),
                ("k2", 140, datetime.date(2024, 1, 10), datetime.datetime(2024, 1, 10, 20, 0, 0))], rows
assert [d.name for d in cur.description] == ["user_key", "heart_rate", "event_date", "event_datetime"], cur.description
cur.execute("SELECT 1.25::DECIMAL(10,2), 2.5::DOUBLE, true, NULL::INTEGER, TIMESTAMPTZ '2024-01-01 12:00:00+00', 'x''y'")
assert cur.fetchone() == (decimal.Decimal("1.25"), 2.5, True, None,
                          datetime.datetime(2024, 1, 1, 12, 0, tzinfo=datetime.timezone.utc), "x'y")

# A server-side (named) cursor read with fetchmany: DECLARE ... CURSOR / FETCH FORWARD n.
with conn.cursor(name="readings") as named:
    named.itersize = 4
    named.execute("SELECT heart_rate FROM serving.fct_heart_rates ORDER BY event_datetime, heart_rate")
    first = named.fetchmany(3)
    second = named.fetchmany(3)
    rest = named.fetchall()
assert [r[0] for r in first + second + rest] == [150, 160, 70, 60, 140, 100, 110, 90, 55, 80], (first, second, rest)
assert len(first) == 3 and len(second) == 3 and len(rest) == 4
conn.commit()

# Anything but a read is refused with its SQLSTATE, and the session goes on after a rollback.
for sql in ["DELETE FROM serving.fct_heart_rates", "CREATE TABLE serving.t AS SELECT 1",
            "COPY serving.dim_users TO '/tmp/users.csv'"]:
    try:
        cur.execute(sql)
        raise AssertionError(f"{sql} was accepted")
    except psycopg2.Error as e:
        assert e.pgcode == "25006", (sql, e.pgcode, e.pgerror)
    conn.rollback()
try:
    cur.execute("SELECT * FROM read_csv('/etc/passwd')")
    raise AssertionError("read_csv was accepted")
except psycopg2.Error as e:
    assert e.pgcode == "42501", (e.pgcode, e.pgerror)
conn.rollback()
cur.execute("SELECT count(*) FROM serving.fct_heart_rates")
assert cur.fetchone()[0] == 10

# A query error names the problem with the SQLSTATE of PostgreSQL.
try:
    cur.execute("SELECT * FROM serving.no_such_table")
    raise AssertionError("missing table accepted")
except psycopg2.Error as e:
    assert e.pgcode == "42P01", (e.pgcode, e.pgerror)
conn.rollback()
conn.close()
print("psycopg2: all checks passed")
