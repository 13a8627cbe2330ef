// The SQL endpoint through node-postgres (npm `pg`, pinned by package-lock.json here and installed into
// the build tree): parameterized queries over the extended protocol, a pool of clients, errors.
// Usage: node node_client.mjs NODE_MODULES PORT PASSWORD. Exit 0 = every check held, 77 = pg missing.
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';
import path from 'node:path';

const [modules, port, password] = process.argv.slice(2);
let pg;
try {
  pg = createRequire(path.join(modules, 'x.js'))('pg');
} catch (e) {
  console.log(`node-postgres is not installed in ${modules}: ${e.message}`);
  process.exit(77);
}

const config = { host: '127.0.0.1', port: Number(port), user: 'researcher', password, database: 'warehouse',
                 application_name: 'node-pg-test' };
const client = new pg.Client(config);
await client.connect();

// Parameters go through Parse/Bind (server-side binding), text results parsed by pg-types.
let r = await client.query(
  'SELECT user_key, heart_rate, event_date FROM serving.fct_heart_rates WHERE heart_rate >= $1 AND user_key = $2 ORDER BY heart_rate',
  [150, 'k1']);
assert.deepEqual(r.rows.map((x) => [x.user_key, x.heart_rate, x.event_date instanceof Date]),
  [['k1', '150', true], ['k1', '160', true]]);  // int8 arrives as a string in node-postgres
assert.deepEqual(r.fields.map((f) => f.name), ['user_key', 'heart_rate', 'event_date']);
assert.equal(r.fields[1].dataTypeID, 20);

// A named prepared statement run twice with different values.
for (const [activity, n] of [['Run', 3], ['Walk', 2]]) {
  r = await client.query({
    name: 'by-activity',
    text: 'SELECT count(*)::INTEGER AS n FROM serving.fct_heart_rates f JOIN serving.dim_activities a USING (activity_key) WHERE a.activity_name = $1',
    values: [activity],
  });
  assert.equal(r.rows[0].n, n, activity);
}

// Writes are refused with SQLSTATE 25006; the client keeps working.
await assert.rejects(client.query('DELETE FROM serving.fct_heart_rates WHERE heart_rate > $1', [0]),
  (e) => e.code === '25006');
await assert.rejects(client.query('SELECT * FROM read_csv($1)', ['/etc/passwd']), (e) => e.code === '42501');
r = await client.query('SELECT count(*)::INTEGER AS n FROM serving.fct_heart_rates');
assert.equal(r.rows[0].n, 10);
await client.end();

// A pool of clients querying at once.
const pool = new pg.Pool({ ...config, max: 4 });
const counts = await Promise.all(Array.from({ length: 12 }, (_, i) =>
  pool.query('SELECT count(*)::INTEGER AS n FROM serving.fct_heart_rates WHERE heart_rate > $1', [i * 10])));
assert.deepEqual(counts.map((x) => x.rows[0].n), [10, 10, 10, 10, 10, 10, 8, 7, 6, 5, 4, 3]);
await pool.end();
console.log('node-postgres: all checks passed');
