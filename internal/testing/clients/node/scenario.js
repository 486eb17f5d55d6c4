// node-postgres scenario: prints one "PASS name" or "FAIL name: message" line per check.
'use strict'
const path = require('path')
const fs = require('fs')
const { Client, Query } = require('pg')

const port = Number(process.argv[2])
const root = process.argv[3]
const tripsGlob = path.join(root, 'testdata', 'trips', '*.csv')
// How to connect (internal/testing/clients sets these for the run over TLS with
// SCRAM): SCENARIO_USER, SCENARIO_PASSWORD, SCENARIO_SSLMODE (require:
// TLS without certificate verification, as libpq's sslmode=require), and
// SCENARIO_CHECKS, the checks to run (all if unset).
const env = process.env
const only = (env.SCENARIO_CHECKS || '').split(',').filter((c) => c)
const config = (password) => {
  const c = { host: '127.0.0.1', port, user: env.SCENARIO_USER || 'sluice', database: 'sluice', connectionTimeoutMillis: 10000 }
  if (password !== undefined) c.password = password
  if (env.SCENARIO_SSLMODE === 'require') c.ssl = { rejectUnauthorized: false }
  return c
}
const cfg = config(env.SCENARIO_PASSWORD)

// The expected numbers come from the CSV files themselves.
const dir = path.join(root, 'testdata', 'trips')
let total = 0
let harbor = 0
for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.csv')).sort()) {
  const lines = fs.readFileSync(path.join(dir, f), 'utf8').trim().split('\n').slice(1)
  total += lines.length
  harbor += lines.filter((l) => l.split(',')[2] === 'Harbor').length
}

let client
const expect = (cond, msg) => { if (!cond) throw new Error(msg) }

const checks = [
  ['create_source', async () => {
    await client.query(`CREATE SOURCE trips FROM FILES '${tripsGlob}' WITH (format = 'csv', header = true)`)
    const r = await client.query('SELECT count(*) AS n FROM trips')
    expect(Number(r.rows[0].n) === total, `count(*) = ${r.rows[0].n}`)
  }],
  ['create_view', async () => {
    await client.query('CREATE MATERIALIZED VIEW daily_fares PARTITION BY (day) AS ' +
      'SELECT CAST(pickup_at AS DATE) AS day, zone, count(*) AS trips, sum(fare) AS fares FROM trips GROUP BY ALL')
  }],
  ['list_schemas', async () => {
    const r = await client.query('SELECT schema_name FROM information_schema.schemata')
    const names = r.rows.map((x) => x.schema_name)
    expect(names.includes('public') || names.includes('main'), `schemata: ${names}`)
  }],
  ['list_relations', async () => {
    const r = await client.query('SELECT table_name FROM information_schema.tables')
    const names = r.rows.map((x) => x.table_name)
    expect(names.includes('trips') && names.includes('daily_fares'), `tables: ${names}`)
  }],
  ['describe_view', async () => {
    const r = await client.query('SELECT column_name FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position', ['daily_fares'])
    const cols = r.rows.map((x) => x.column_name).join(',')
    expect(cols === 'day,zone,trips,fares', `columns: ${cols}`)
  }],
  ['param_query', async () => {
    for (let i = 0; i < 3; i++) { // a named statement is prepared once, then reused
      const r = await client.query({ name: 'by_zone', text: 'SELECT count(*) AS n FROM trips WHERE zone = $1', values: ['Harbor'] })
      expect(Number(r.rows[0].n) === harbor, `got ${r.rows[0].n} want ${harbor}`)
    }
  }],
  ['read_view', async () => {
    const r = await client.query('SELECT day, zone, trips, fares FROM daily_fares ORDER BY day, zone')
    const sum = r.rows.reduce((a, x) => a + Number(x.trips), 0)
    expect(sum === total, `sum(trips) = ${sum}`)
  }],
  ['error_sqlstate', async () => {
    let err
    try { await client.query('SELECT * FROM no_such_table') } catch (e) { err = e }
    expect(err, 'no error')
    expect(err.code === '42P01', `code ${err.code}: ${err.message}`)
    await client.query('SELECT 1')
  }],
  ['cancel', async () => {
    const q = new Query('SELECT count(*) FROM range(10000000000)')
    const done = new Promise((resolve) => {
      q.on('error', (e) => resolve(e))
      q.on('end', () => resolve(null))
    })
    client.query(q)
    const start = Date.now()
    await new Promise((r) => setTimeout(r, 500))
    new Client(cfg).cancel(client, q)
    const timeout = new Promise((resolve) => setTimeout(() => resolve('timeout'), 20000))
    const err = await Promise.race([done, timeout])
    expect(err !== 'timeout', 'not cancelled within 20s')
    expect(err, 'long query was not cancelled')
    expect(err.code === '57014', `code ${err.code}: ${err.message}`)
    await client.query('SELECT 1')
    expect(Date.now() - start < 20000, 'cancel too slow')
  }],
]

if (env.SCENARIO_PASSWORD !== undefined) {
  checks.push(['wrong_password', async () => {
    const c = new Client(config('wrong ' + env.SCENARIO_PASSWORD))
    c.on('error', () => {})
    let err
    try { await c.connect() } catch (e) { err = e }
    await c.end().catch(() => {})
    expect(err, 'connected with a wrong password')
    expect(err.code === '28P01', `code ${err.code}: ${err.message}`)
  }])
}

const line = (s) => process.stdout.write(s + '\n')
const oneLine = (e) => `${e && e.code ? '[' + e.code + '] ' : ''}${e && e.message ? e.message : e}`.replace(/\n/g, ' | ')

async function main () {
  try {
    client = new Client(cfg)
    client.on('error', () => {})
    await client.connect()
    await client.query('SELECT 1')
    line('PASS connect')
  } catch (e) {
    line(`FAIL connect: ${oneLine(e)}`)
    for (const [name] of checks) if (only.length === 0 || only.includes(name)) line(`FAIL ${name}: blocked by connect`)
    return
  }
  for (const [name, fn] of checks) {
    if (only.length > 0 && !only.includes(name)) continue
    try { await fn(); line(`PASS ${name}`) } catch (e) { line(`FAIL ${name}: ${oneLine(e)}`) }
  }
  await client.end().catch(() => {})
}

main().then(() => process.exit(0), (e) => { line(`FAIL main: ${oneLine(e)}`); process.exit(1) })
