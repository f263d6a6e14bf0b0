// The page at `/`: reads the HTTP API of the instance that served it (docs/http-api.md).
// The token, when the API needs one, is kept in sessionStorage: for this tab only.
import { drawGraph, updateRates } from './graph.js';
import { parseMetrics, showDeadLetters, showInstances, showLag, showRestore, TableBrowser } from './panels.js';

const REFRESH_MS = 2000;
const TOKEN_KEY = 'duality-token';
const $ = (id) => document.getElementById(id);

/** Refused for want of the right token: the page then asks for one and stops polling until given. */
class Unauthorized extends Error {}

export async function api(path, init = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const headers = { ...(init.headers ?? {}), ...(token ? { authorization: `Bearer ${token}` } : {}) };
  const res = await fetch(path, { ...init, headers });
  if (res.status === 401) {
    const body = await res.json().catch(() => ({}));
    throw new Unauthorized(body.error?.message ?? 'this server needs a token');
  }
  return res;
}

/** The answer's JSON, or an Error with the API's message. */
export async function apiJson(path, init) {
  const res = await api(path, init);
  const body = await res.json().catch(() => undefined);
  if (!res.ok) {
    const e = new Error(body?.error?.message ?? `${res.status} ${res.statusText}`);
    e.code = body?.error?.code;
    e.status = res.status;
    throw e;
  }
  return body;
}

function askForToken(message) {
  const had = sessionStorage.getItem(TOKEN_KEY) !== null;
  $('auth-message').textContent = had
    ? `The token was refused: ${message}. Enter the token this server was started with.`
    : `This server needs an API token (${message}).`;
  $('auth').hidden = false;
  document.body.classList.add('locked');
  showState('token needed');
  $('auth').classList.toggle('error', had);
  $('token').focus();
}

let started = false;
let topologySources = [];
let timer;

async function start() {
  try {
    const topology = await apiJson('/topology');
    $('auth').hidden = true;
    document.body.classList.remove('locked');
    $('forget-token').hidden = sessionStorage.getItem(TOKEN_KEY) === null;
    $('name').textContent = topology.name;
    document.title = `Duality: ${topology.name}`;
    if (!started) {
      started = true;
      topologySources = topology.nodes.filter((n) => n.type === 'source' || n.type === 'table-source').map((n) => n.id);
      await drawGraph($('graph'), topology);
      $('graph-note').textContent = [count(topology.subtopologies.length, 'sub-topology').replace('topologys', 'topologies'), count(topology.nodes.length, 'node'), count(topology.stores.length, 'store')].join(', ');
      const tables = (await apiJson('/tables')).tables;
      new TableBrowser(tables, apiJson).attach();
    }
    await refresh();
  } catch (e) {
    if (e instanceof Unauthorized) askForToken(e.message);
    else showProblem(`The page could not load the topology: ${e.message}`);
  }
}

let previous;

async function refresh() {
  clearTimeout(timer);
  try {
    const [health, metricsText, instances, dead] = await Promise.all([
      apiJson('/healthz'),
      api('/metrics').then((r) => r.text()),
      apiJson('/instances'),
      apiJson('/dead-letters?limit=20'),
    ]);
    const metrics = parseMetrics(metricsText, Date.now());
    showState(health.state);
    updateRates(metrics, previous);
    showInstances($('instances'), instances.instances);
    showLag($('lag'), metrics);
    showRestore($('restore'), metrics);
    showDeadLetters($('dlq'), $('dlq-topic'), dead, metrics);
    showTotals(metrics, previous);
    previous = metrics;
    $('problem').hidden = true;
  } catch (e) {
    if (e instanceof Unauthorized) return askForToken(e.message);
    showProblem(`Cannot reach the server: ${e.message}`);
  }
  timer = setTimeout(refresh, REFRESH_MS);
}

function showState(state) {
  const badge = $('state');
  badge.textContent = state;
  badge.className = `badge state-${state.replace(/\W+/g, "-")}`;
}

function showTotals(m, prev) {
  const sum = (metrics, name, only = () => true) => (metrics?.series.get(name) ?? []).filter(only).reduce((a, s) => a + s.value, 0);
  // What the topology reads from its source topics (not what it reads back from its repartition topics).
  const sources = new Set(topologySources);
  const read = (metrics) => sum(metrics, 'duality_records_in_total', (s) => sources.has(s.labels.node));
  const dt = prev ? (m.at - prev.at) / 1000 : 0;
  const rate = dt > 0 ? Math.max(0, read(m) - read(prev)) / dt : 0;
  $('totals').textContent = `${fmt(rate)} records/s in · ${fmt(read(m))} read · ${count(sum(m, 'duality_errors_total'), 'error')} · ${count(sum(m, 'duality_commits_total'), 'commit')}`;
}

function showProblem(text) {
  $('problem').textContent = text;
  $('problem').hidden = false;
  clearTimeout(timer);
  timer = setTimeout(refresh, REFRESH_MS);
}

const count = (n, what) => `${fmt(n)} ${what}${n === 1 ? '' : 's'}`;

export function fmt(n) {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

$('auth-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const token = $('token').value.trim();
  if (token === '') return;
  sessionStorage.setItem(TOKEN_KEY, token);
  $('token').value = '';
  start();
});
$('forget-token').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  location.reload();
});

start();
