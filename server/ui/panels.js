// The panels beside the graph: instances and their tasks, lag and restore (from /metrics), the
// table browser and the dead-letter topic's newest records.

/** Prometheus text as series by metric name: [{labels, value}], with the time it was read. */
export function parseMetrics(text, at) {
  const series = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
    if (!series.has(m[1])) series.set(m[1], []);
    series.get(m[1]).push({ labels, value: Number(m[3]) });
  }
  return { series, at };
}

function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('data-')) e.dataset[k.slice(5)] = v;
    else e.setAttribute(k, v);
  }
  for (const c of children.flat()) e.append(c instanceof Node ? c : String(c ?? ''));
  return e;
}

function table(headers, rows, cls = '') {
  return h('table', { class: cls }, h('thead', {}, h('tr', {}, headers.map((x) => h('th', {}, x)))), h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, c))))));
}

const none = (text = 'none') => h('p', { class: 'muted' }, text);

export function showInstances(box, instances) {
  box.classList.remove('muted');
  box.replaceChildren(
    ...instances.map((i) =>
      h(
        'div',
        { class: 'instance' },
        h('div', { class: 'instance-head' }, h('strong', {}, i.endpoint ?? '(no endpoint)'), i.self ? h('span', { class: 'tag' }, 'this one') : '', h('span', { class: `badge state-${i.state}` }, i.state)),
        h('div', { class: 'tasks' }, i.active.map((t) => h('span', { class: 'task', title: 'active task' }, t)), i.standby.map((t) => h('span', { class: 'task standby', title: 'standby copy' }, t))),
      ),
    ),
  );
}

/** duality_consumer_lag_records{topic,partition,task}: records not read yet per input partition. */
export function showLag(box, metrics) {
  const lag = metrics.series.get('duality_consumer_lag_records');
  box.classList.remove('muted');
  if (!lag || lag.length === 0) return box.replaceChildren(none('none reported'));
  const rows = [...lag].sort((a, b) => a.labels.topic.localeCompare(b.labels.topic) || Number(a.labels.partition) - Number(b.labels.partition));
  box.replaceChildren(table(['topic', 'partition', 'task', 'lag'], rows.map((s) => [s.labels.topic, s.labels.partition, s.labels.task ?? '', h('span', { class: s.value > 0 ? 'warn' : 'ok' }, s.value)]), 'compact'));
}

/** duality_restore_remaining_records{store,task} and duality_restored_records_total. */
export function showRestore(box, metrics) {
  const remaining = metrics.series.get('duality_restore_remaining_records') ?? [];
  const restored = (metrics.series.get('duality_restored_records_total') ?? []).reduce((a, s) => a + s.value, 0);
  box.classList.remove('muted');
  const parts = [h('p', {}, `${restored} changelog records restored since start`)];
  const pending = remaining.filter((s) => s.value > 0);
  if (remaining.length === 0) parts.push(none('no restore in progress'));
  else if (pending.length === 0) parts.push(h('p', { class: 'ok' }, 'every store is restored'));
  else parts.push(table(['store', 'task', 'remaining'], pending.map((s) => [s.labels.store, s.labels.task, h('span', { class: 'warn' }, s.value)]), 'compact'));
  box.replaceChildren(...parts);
}

const HEADER = '__streams.errors.';
const shown = (v) => (v === null ? 'null' : typeof v === 'string' ? v : `base64: ${v.base64}`);

export function showDeadLetters(box, title, dead, metrics) {
  const count = (metrics.series.get('duality_dlq_records_total') ?? []).reduce((a, s) => a + s.value, 0);
  title.textContent = dead.topic ? `${dead.topic} · ${count} written since start` : `policy ${dead.policy}: none kept`;
  box.classList.remove('muted');
  if (dead.records.length === 0) return box.replaceChildren(none(dead.topic ? 'none' : `errors.policy is ${dead.policy}`));
  box.replaceChildren(
    table(
      ['time', 'from', 'node', 'cause', 'message', 'key', 'value'],
      dead.records.map((r) => [
        new Date(r.timestamp).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
        `${r.headers[`${HEADER}topic`] ?? '?'}-${r.headers[`${HEADER}partition`] ?? '?'}@${r.headers[`${HEADER}offset`] ?? '?'}`,
        r.headers['__duality.errors.node'] ?? '',
        h('span', { class: 'tag error' }, r.headers[`${HEADER}exception`] ?? ''),
        r.headers[`${HEADER}message`] ?? '',
        h('code', {}, shown(r.key)),
        h('code', {}, shown(r.value)),
      ]),
      'dlq',
    ),
  );
}

const time = (ms) => new Date(ms).toISOString().replace('T', ' ').replace(/:00\.000Z$/, 'Z').replace(/\.000Z$/, 'Z');
const value = (v) => h('code', {}, JSON.stringify(v));

/** Key lookup, prefix scan with paging, and a time range for windowed tables. */
export class TableBrowser {
  constructor(tables, apiJson) {
    this.tables = tables;
    this.apiJson = apiJson;
    this.cursor = undefined;
    this.$ = (id) => document.getElementById(id);
  }

  attach() {
    const select = this.$('table');
    select.replaceChildren(...this.tables.map((t) => h('option', { value: t.name }, `${t.name}${t.windowed ? ' (windowed)' : ''}`)));
    if (this.tables.length === 0) this.status('this topology has no queryable table');
    select.addEventListener('change', () => this.onTable());
    this.$('table-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.lookup();
    });
    this.$('scan').addEventListener('click', () => this.scan(undefined));
    this.$('next').addEventListener('click', () => this.scan(this.cursor));
    this.onTable();
  }

  get current() {
    return this.tables.find((t) => t.name === this.$('table').value);
  }

  onTable() {
    const t = this.current;
    const windowed = t?.windowed ?? false;
    this.$('prefix-label').hidden = windowed || !['string', 'json', 'bytes'].includes(t?.keySerde);
    this.$('from-label').hidden = !windowed;
    this.$('to-label').hidden = !windowed;
    this.cursor = undefined;
    this.$('next').disabled = true;
    this.$('table-result').replaceChildren();
    this.status(t ? `${t.keySerde} keys${windowed ? '; windows are selected by start time (from, to)' : ''}` : '');
  }

  status(text, error = false) {
    const p = this.$('table-status');
    p.textContent = text;
    p.className = error ? 'error-text' : 'muted';
  }

  range() {
    const q = new URLSearchParams();
    if (!this.current?.windowed) return q;
    for (const f of ['from', 'to']) if (this.$(f).value.trim() !== '') q.set(f, this.$(f).value.trim());
    return q;
  }

  async lookup() {
    const t = this.current;
    const key = this.$('key').value;
    if (!t || key === '') return this.status('enter a key to look up', true);
    const q = this.range().toString();
    try {
      const a = await this.apiJson(`/tables/${encodeURIComponent(t.name)}/keys/${encodeURIComponent(key)}${q ? `?${q}` : ''}`);
      this.$('next').disabled = true;
      if ('windows' in a) {
        this.status(`${a.windows.length} window${a.windows.length === 1 ? '' : 's'} of ${JSON.stringify(a.key)}`);
        this.show(table(['key', 'window start', 'window end', 'value'], a.windows.map((w) => [value(a.key), time(w.start), time(w.end), value(w.value)]), 'result'));
      } else {
        this.status(`found ${JSON.stringify(a.key)}`);
        this.show(table(['key', 'value'], [[value(a.key), value(a.value)]], 'result'));
      }
    } catch (e) {
      this.status(e.code === 'KEY_NOT_FOUND' ? `no key ${JSON.stringify(key)} in ${t.name}` : e.message, e.code !== 'KEY_NOT_FOUND');
      this.show();
    }
  }

  async scan(cursor) {
    const t = this.current;
    if (!t) return;
    const q = this.range();
    const prefix = this.$('prefix').value;
    if (!this.$('prefix-label').hidden && prefix !== '') q.set('prefix', prefix);
    q.set('limit', '20');
    if (cursor) q.set('cursor', cursor);
    try {
      const page = await this.apiJson(`/tables/${encodeURIComponent(t.name)}?${q}`);
      this.cursor = page.cursor;
      this.$('next').disabled = page.cursor === undefined;
      this.status(`${page.entries.length} entr${page.entries.length === 1 ? 'y' : 'ies'}${page.cursor ? '; more on the next page' : cursor ? '; the last page' : ''}`);
      const rows = page.entries.map((e) => ('start' in e ? [value(e.key), time(e.start), time(e.end), value(e.value)] : [value(e.key), value(e.value)]));
      this.show(table(t.windowed ? ['key', 'window start', 'window end', 'value'] : ['key', 'value'], rows, 'result'));
    } catch (e) {
      this.status(e.message, true);
      this.show();
    }
  }

  show(node) {
    this.$('table-result').replaceChildren(...(node ? [node] : []));
  }
}
