// The `helm test` check (templates/tests/test-api.yaml), also run by the chart's tests against
// local instances: /readyz answers 200, /tables lists the tables, and the first one answers a page.
// Exits 0 when all hold, else 1 with what failed. DUALITY_URL: the client Service;
// DUALITY_API_TOKEN: the API's token, when it has one.
const base = process.env.DUALITY_URL;
const token = process.env.DUALITY_API_TOKEN;
const headers = token ? { authorization: `Bearer ${token}` } : {};

async function get(path) {
  const res = await fetch(`${base}${path}`, { headers, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

try {
  await get('/readyz');
  const { tables } = await get('/tables');
  if (!Array.isArray(tables) || tables.length === 0) throw new Error('GET /tables: no tables to query');
  const table = tables[0].name;
  const page = await get(`/tables/${encodeURIComponent(table)}?limit=1`);
  console.log(`ok: ${base} is ready; table ${table} answers (${JSON.stringify(page).slice(0, 200)})`);
} catch (e) {
  console.error(`duality helm test failed: ${e.message}`);
  process.exit(1);
}
