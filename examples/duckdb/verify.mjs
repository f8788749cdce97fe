#!/usr/bin/env node
// verify.mjs runs the DuckDB examples against the output of `quiver demo`
// and checks them, so the examples and the docs stay true:
//
//  1. every *.sql file in this folder (or --examples DIR) is run and its
//     result compared with <name>.expected.csv (the demo is seeded, so
//     results are exact);
//  2. every stream of the newest run in out/_runs/ is checked against
//     docs/catalog.json (generated from the connectors' schemas by
//     `make docs`): the columns and their DuckDB types, primary keys
//     unique and never null, every timestamp a TIMESTAMP WITH TIME ZONE,
//     and the row count of the run's files equal to what the run reported.
//
// With --resync COMPACTED (for the output of `quiver demo --resync`, whose
// second sync re-reads the lookback streams' windows, with COMPACTED a copy
// of it after `quiver compact`), every stream's primary key may have
// several versions: the latest version per key (latest
// _quiver_extracted_at, then the later run) must equal the compacted files
// exactly, and some stream must hold a record read twice, or the check
// would prove nothing. The queries in latest/ read such output:
//
//   quiver demo --resync --out /tmp/z/out
//   cp -R /tmp/z/out /tmp/z/compacted/out   # (mkdir /tmp/z/compacted first)
//   quiver compact -c /tmp/z/compacted/out/_demo/quiver.yaml
//   node examples/duckdb/verify.mjs --dir /tmp/z --examples examples/duckdb/latest --resync /tmp/z/compacted
//
// Usage (make demo-check does all of it in a temporary folder):
//
//   make demo && node examples/duckdb/verify.mjs            # ./out
//   node examples/duckdb/verify.mjs --dir /tmp/x             # /tmp/x/out
//   node examples/duckdb/verify.mjs --update                 # rewrite *.expected.csv
//
// The queries in alt/ read the output of `quiver demo --variant alt`, whose
// simulators serve the other plausible API shapes, so that
// _quiver_rescued holds values:
//
//   quiver demo --variant alt --out /tmp/y/out
//   node examples/duckdb/verify.mjs --dir /tmp/y --examples examples/duckdb/alt
//
// The queries read 'out/...' relative to --dir (default: the repository
// root), the way you would run them from a checkout after `make demo`.
import { DuckDBInstance } from '@duckdb/node-api';
import { readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');

function parseArgs(argv) {
  const args = { dir: repo, update: false, catalog: join(repo, 'docs', 'catalog.json'), examples: here, resync: '' };
  for (let i = 0; i < argv.length; i++) {
    switch (argv[i]) {
      case '--dir': args.dir = resolve(argv[++i] ?? ''); break;
      case '--examples': args.examples = resolve(argv[++i] ?? ''); break;
      case '--catalog': args.catalog = resolve(argv[++i] ?? ''); break;
      case '--update': args.update = true; break;
      case '--resync': args.resync = resolve(argv[++i] ?? ''); break;
      default:
        console.error(`verify.mjs: unknown argument ${argv[i]}\nusage: node verify.mjs [--dir DIR] [--examples DIR] [--catalog FILE] [--update] [--resync COMPACTED]`);
        process.exit(2);
    }
  }
  return args;
}

// csv renders a result as RFC 4180 text with a header row. NULL is
// written as NULL; lists and structs as JSON.
function csv(columns, rows) {
  const field = (v) => {
    let s;
    if (v === null || v === undefined) s = 'NULL';
    else if (typeof v === 'object') s = JSON.stringify(v);
    else s = String(v);
    return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  return [columns, ...rows].map((r) => r.map(field).join(',')).join('\n') + '\n';
}

// firstDifference describes where two texts part, line by line.
function firstDifference(want, got) {
  const w = want.split('\n');
  const g = got.split('\n');
  for (let i = 0; i < Math.max(w.length, g.length); i++) {
    if (w[i] !== g[i]) {
      return `line ${i + 1}:\n      want: ${w[i] ?? '(end)'}\n      got:  ${g[i] ?? '(end)'}`;
    }
  }
  return '';
}

// sqlString quotes s as an SQL string literal.
const sqlString = (s) => `'${s.replaceAll("'", "''")}'`;
// ident quotes s as an SQL identifier.
const ident = (s) => `"${s.replaceAll('"', '""')}"`;
// naiveTimestamp matches a DuckDB timestamp type without a time zone,
// anywhere in a type (struct fields and list elements included).
const naiveTimestamp = /TIMESTAMP(_NS|_MS|_S)?(?! WITH TIME ZONE)/;
// normType drops the quotes DuckDB puts around struct field names that are
// keywords ("name", "type"), which docs/catalog.json writes bare.
const normType = (t) => t.replace(/"([a-z_][a-z0-9_]*)"/g, '$1');

class Checker {
  constructor(conn, resync) {
    this.conn = conn;
    this.failures = 0;
    this.resync = resync; // the compacted copy of a --resync demo, or ''
    this.reread = 0; // streams holding a record read twice
  }

  ok(msg) {
    console.log(`ok    ${msg}`);
  }

  fail(msg) {
    this.failures++;
    console.log(`FAIL  ${msg}`);
  }

  async rows(sql) {
    const r = await this.conn.runAndReadAll(sql);
    return { columns: r.columnNames(), rows: r.getRowsJson() };
  }

  // examples runs every .sql file of folder and compares it with its
  // expected result.
  async examples(folder, update) {
    const files = readdirSync(folder).filter((f) => f.endsWith('.sql')).sort();
    if (files.length === 0) this.fail(`no .sql files in ${folder}`);
    for (const f of readdirSync(folder).filter((f) => f.endsWith('.expected.csv'))) {
      if (!files.includes(f.replace(/\.expected\.csv$/, '.sql'))) {
        this.fail(`${f}: no ${f.replace(/\.expected\.csv$/, '.sql')} for it`);
      }
    }
    for (const f of files) {
      const sql = readFileSync(join(folder, f), 'utf8');
      const expPath = join(folder, f.replace(/\.sql$/, '.expected.csv'));
      let got;
      try {
        const r = await this.rows(sql);
        got = csv(r.columns, r.rows);
      } catch (err) {
        this.fail(`${f}: ${err.message}`);
        continue;
      }
      if (update) {
        writeFileSync(expPath, got);
        this.ok(`${f}: wrote ${f.replace(/\.sql$/, '.expected.csv')}`);
        continue;
      }
      if (!existsSync(expPath)) {
        this.fail(`${f}: no expected result; run with --update to write ${expPath}`);
        continue;
      }
      const want = readFileSync(expPath, 'utf8');
      if (want === got) {
        this.ok(`${f} (${got.split('\n').length - 2} rows as expected)`);
      } else {
        this.fail(`${f}: result differs from ${f.replace(/\.sql$/, '.expected.csv')} at ${firstDifference(want, got)}`);
      }
    }
  }

  // outputs checks every stream of the newest run against the catalog.
  async outputs(dir, catalog) {
    const runsDir = join(dir, 'out', '_runs');
    if (!existsSync(runsDir)) {
      this.fail(`${runsDir} does not exist: run quiver demo first`);
      return;
    }
    const runs = readdirSync(runsDir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => JSON.parse(readFileSync(join(runsDir, f), 'utf8')))
      .sort((a, b) => Date.parse(a.finished_at) - Date.parse(b.finished_at));
    const run = runs.at(-1);
    if (!run) {
      this.fail(`no run manifest in ${runsDir}`);
      return;
    }
    if (run.status !== 'ok') this.fail(`run ${run.run_id}: status ${run.status}, want ok`);
    const connectors = new Map(catalog.connectors.map((c) => [c.name, c]));
    for (const src of run.sources) {
      const conn = connectors.get(src.connector);
      if (!conn) {
        this.fail(`${src.name}: connector ${src.connector} is not in docs/catalog.json; add it to internal/docgen/connectors.go and run make docs`);
        continue;
      }
      if (src.streams.length === 0) this.fail(`${src.name}: no streams`);
      for (const st of src.streams) {
        await this.stream(dir, src, conn, st, catalog.lineage_columns);
      }
    }
  }

  async stream(dir, src, conn, st, lineage) {
    const name = `${src.name}.${st.name}`;
    if (st.status !== 'complete') {
      this.fail(`${name}: status ${st.status}${st.error ? `: ${st.error}` : ''}`);
      return;
    }
    const glob = join('out', src.name, st.name, '**', '*.parquet');
    const files = `read_parquet(${sqlString(glob)}, hive_partitioning = false)`;
    const found = Number((await this.rows(`SELECT count(*) FROM glob(${sqlString(glob)})`)).rows[0][0]);
    if (found === 0) {
      if (st.records === 0) this.ok(`${name}: no records, no files`);
      else this.fail(`${name}: the run reported ${st.records} records, and there are no files`);
      return;
    }
    let desc;
    try {
      desc = (await this.rows(`DESCRIBE FROM ${files}`)).rows.map(([n, t]) => [n, normType(t)]);
    } catch (err) {
      this.fail(`${name}: ${err.message}`);
      return;
    }
    const notes = [];
    // Columns and types, from docs/catalog.json.
    const doc = conn.streams.find((s) => s.name === st.name);
    if (doc) {
      const want = doc.columns.map((c) => `${c.name} ${c.duckdb}`).join(', ');
      const got = desc.map(([n, t]) => `${n} ${t}`).join(', ');
      if (want !== got) {
        this.fail(`${name}: columns differ from docs/catalog.json\n      want: ${want}\n      got:  ${got}`);
        return;
      }
      notes.push(`${desc.length} columns as documented`);
    } else if (conn.dynamic) {
      const names = desc.map(([n]) => n);
      for (const c of lineage) {
        if (!names.includes(c.name)) this.fail(`${name}: no lineage column ${c.name}`);
      }
      notes.push(`${desc.length} columns (discovered)`);
    } else {
      this.fail(`${name}: stream ${st.name} is not in docs/catalog.json for ${conn.name}; run make docs`);
      return;
    }
    // Timestamps are instants in UTC, also inside structs and lists.
    const naive = desc.filter(([, t]) => naiveTimestamp.test(t));
    if (naive.length > 0) {
      this.fail(`${name}: timestamps without a time zone: ${naive.map(([n, t]) => `${n} ${t}`).join(', ')}`);
    }
    const zoned = desc.reduce((n, [, t]) => n + (t.match(/TIMESTAMP WITH TIME ZONE/g) ?? []).length, 0);
    notes.push(`timestamps WITH TIME ZONE: ${zoned}`);
    // Primary keys: unique and never null.
    const pk = doc ? doc.primary_key : conn.primary_key ?? [];
    if (pk.length > 0 && this.resync) {
      if (!(await this.latest(name, files, pk, join(this.resync, glob), notes))) return;
    } else if (pk.length > 0) {
      const key = pk.map(ident).join(', ');
      const nulls = pk.map((k) => `${ident(k)} IS NULL`).join(' OR ');
      const { rows } = await this.rows(
        `SELECT count(*), count(DISTINCT (${key})), count(*) FILTER (WHERE ${nulls}) FROM ${files}`);
      const [total, distinct, nullKeys] = rows[0].map(Number);
      if (distinct !== total || nullKeys !== 0) {
        this.fail(`${name}: primary key (${pk.join(', ')}): ${total} rows, ${distinct} distinct, ${nullKeys} null` +
          ' (verify expects the output of a full-refresh demo; incremental runs of some connectors re-read records on purpose)');
        return;
      }
      notes.unshift(`${total} rows`);
      notes.push(`${pk.join(', ')} unique`);
    } else {
      this.fail(`${name}: no primary key in docs/catalog.json`);
    }
    // This run's files hold exactly the records the run reported.
    if (st.files.length > 0) {
      const list = st.files.map((f) => sqlString(f)).join(', ');
      const { rows } = await this.rows(`SELECT count(*) FROM read_parquet([${list}], hive_partitioning = false)`);
      if (Number(rows[0][0]) !== st.records) {
        this.fail(`${name}: the run's files hold ${rows[0][0]} rows, the run reported ${st.records}`);
        return;
      }
    } else if (st.records !== 0) {
      this.fail(`${name}: the run reported ${st.records} records and no files`);
      return;
    }
    this.ok(`${name}: ${notes.join(', ')}`);
  }

  // latest checks a stream of a --resync demo: the latest version of each
  // key equals the compacted copy's rows. It reports whether it passed.
  async latest(name, files, pk, compactedGlob, notes) {
    const key = pk.map(ident).join(', ');
    const latest = `(SELECT * FROM ${files} QUALIFY row_number() OVER (PARTITION BY ${key} ` +
      'ORDER BY _quiver_extracted_at DESC, _quiver_run_id DESC) = 1)';
    const compacted = `read_parquet(${sqlString(compactedGlob)}, hive_partitioning = false)`;
    const { rows } = await this.rows(
      `SELECT (SELECT count(*) FROM ${files}), (SELECT count(DISTINCT (${key})) FROM ${files}), ` +
      `(SELECT count(*) FROM (FROM ${latest} EXCEPT ALL FROM ${compacted})), ` +
      `(SELECT count(*) FROM (FROM ${compacted} EXCEPT ALL FROM ${latest}))`);
    const [total, distinct, onlyLatest, onlyCompacted] = rows[0].map(Number);
    if (onlyLatest !== 0 || onlyCompacted !== 0) {
      this.fail(`${name}: the latest version per key and quiver compact disagree: ${onlyLatest} rows only in the view, ${onlyCompacted} only in the compacted files`);
      return false;
    }
    if (total > distinct) this.reread++;
    notes.unshift(`${total} rows, ${distinct} keys`);
    notes.push(`latest version per key = quiver compact`);
    return true;
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const catalog = JSON.parse(readFileSync(args.catalog, 'utf8'));
  process.chdir(args.dir);
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const c = new Checker(conn, args.resync);
  await c.examples(args.examples, args.update);
  await c.outputs(args.dir, catalog);
  if (args.resync && c.reread === 0) {
    c.fail('no stream holds a record read twice: the --resync demo did not re-read anything, so the latest-version check proves nothing');
  }
  conn.closeSync();
  if (c.failures > 0) {
    console.log(`\n${c.failures} check(s) failed`);
    process.exit(1);
  }
  console.log(`\nall checks passed (${args.dir}/out)`);
}

main().catch((err) => {
  console.error('verify.mjs:', err);
  process.exit(1);
});
