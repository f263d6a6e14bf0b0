// The topology as an SVG graph, laid out by ELK (elkjs, served from node_modules as /ui/elk.js):
// sub-topologies as groups holding their steps and stores, topics between them.
const SVG = 'http://www.w3.org/2000/svg';
const NODE_W = 176;
const NODE_H = 44;
const TOPIC_H = 32;
const STORE_H = 34;

/** Rate labels by node id, filled by updateRates. */
const rateLabels = new Map();
const storeLabels = new Map();

function el(name, attrs = {}, parent) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  parent?.appendChild(e);
  return e;
}

const TOPIC_ROLES = { source: 'source topic', sink: 'sink topic', repartition: 'repartition topic', dlq: 'dead-letter topic' };

// Wide enough for its name and for `key-value store · 12.3k entries` below it.
const storeWidth = (s) => Math.max(NODE_W - 30, s.name.length * 7.5 + 24, (s.type.length + 22) * 6.2 + 16);

/** What ELK lays out: groups (sub-topologies) of nodes and stores; topics at the top level. */
function elkGraph(t) {
  const topicId = (name) => `topic:${name}`;
  const storeId = (name) => `store:${name}`;
  const usedTopics = new Set(t.nodes.map((n) => n.topic).filter(Boolean));
  const topics = t.topics.filter((x) => usedTopics.has(x.name));
  const groups = t.subtopologies.map((s) => ({
    id: `sub:${s.id}`,
    labels: [{ text: `Sub-topology ${s.id}` }],
    layoutOptions: { 'elk.padding': '[top=28,left=12,bottom=12,right=12]' },
    children: [
      ...s.nodes.map((id) => ({ id, width: NODE_W, height: NODE_H })),
      ...s.stores.map((name) => ({ id: storeId(name), width: storeWidth(t.stores.find((x) => x.name === name)), height: STORE_H })),
    ],
  }));
  const edges = [];
  const edge = (from, to, kind) => edges.push({ id: `e${edges.length}`, sources: [from], targets: [to], kind });
  for (const n of t.nodes) {
    for (const i of n.inputs) edge(i, n.id, 'flow');
    if (n.topic && /source$/.test(n.type)) edge(topicId(n.topic), n.id, 'topic');
    if (n.topic && /sink$/.test(n.type)) edge(n.id, topicId(n.topic), 'topic');
    for (const s of n.stores ?? []) edge(n.id, storeId(s), 'store');
  }
  for (const s of t.stores) if (!t.nodes.some((n) => (n.stores ?? []).includes(s.name))) edge(s.node, storeId(s.name), 'store');
  return {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'DOWN',
      'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
      'elk.layered.spacing.nodeNodeBetweenLayers': '20',
      'elk.spacing.nodeNode': '22',
      'elk.edgeRouting': 'ORTHOGONAL',
    },
    children: [...topics.map((x) => ({ id: topicId(x.name), width: Math.max(150, x.name.length * 7 + 28), height: TOPIC_H })), ...groups],
    edges,
  };
}

export async function drawGraph(container, topology) {
  if (!globalThis.ELK) throw new Error('the layout library (/ui/elk.js) did not load');
  const laid = await new globalThis.ELK().layout(elkGraph(topology));
  const byId = new Map(topology.nodes.map((n) => [n.id, n]));
  const topics = new Map(topology.topics.map((x) => [x.name, x]));
  const stores = new Map(topology.stores.map((s) => [s.name, s]));

  const svg = el('svg', { viewBox: `0 0 ${laid.width} ${laid.height}`, width: laid.width, height: laid.height, role: 'img', 'aria-label': `topology ${topology.name}` });
  const defs = el('defs', {}, svg);
  const marker = el('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, defs);
  el('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead' }, marker);

  const offsets = new Map([['root', { x: 0, y: 0 }]]);
  const layers = { groups: el('g', {}, svg), edges: el('g', {}, svg), nodes: el('g', {}, svg) };
  const place = (n, ox, oy) => {
    const x = ox + n.x;
    const y = oy + n.y;
    offsets.set(n.id, { x, y });
    if (n.id.startsWith('sub:')) {
      const g = el('g', { class: 'group', 'data-sub': n.id.slice(4) }, layers.groups);
      el('rect', { x, y, width: n.width, height: n.height, rx: 10 }, g);
      el('text', { x: x + 12, y: y + 19, class: 'group-label' }, g).textContent = n.labels?.[0]?.text ?? '';
      for (const c of n.children ?? []) place(c, x, y);
    } else drawNode(layers.nodes, n, x, y, byId, topics, stores);
  };
  for (const c of laid.children ?? []) place(c, 0, 0);
  const kinds = new Map(elkGraph(topology).edges.map((e) => [e.id, e.kind]));
  for (const e of laid.edges ?? []) {
    const o = offsets.get(e.container ?? 'root') ?? { x: 0, y: 0 };
    for (const s of e.sections ?? []) {
      const pts = [s.startPoint, ...(s.bendPoints ?? []), s.endPoint].map((p) => `${p.x + o.x},${p.y + o.y}`);
      el('polyline', { points: pts.join(' '), class: `edge edge-${kinds.get(e.id)}`, 'marker-end': kinds.get(e.id) === 'store' ? '' : 'url(#arrow)' }, layers.edges);
    }
  }
  // Scaled down to fit the panel, but not below what stays readable: a larger topology scrolls.
  svg.style.minHeight = `${Math.min(laid.height, 480)}px`;
  container.replaceChildren(svg);
}

function drawNode(parent, n, x, y, byId, topics, stores) {
  const g = el('g', { class: 'node', transform: `translate(${x},${y})` }, parent);
  if (n.id.startsWith('topic:')) {
    const t = topics.get(n.id.slice(6));
    g.classList.add('topic', `topic-${t.role}`);
    g.dataset.topic = t.name;
    el('rect', { width: n.width, height: n.height, rx: n.height / 2 }, g);
    el('text', { x: n.width / 2, y: 13, class: 'kind', 'text-anchor': 'middle' }, g).textContent = TOPIC_ROLES[t.role] ?? `${t.role} topic`;
    el('text', { x: n.width / 2, y: 26, class: 'title', 'text-anchor': 'middle' }, g).textContent = t.name;
    return;
  }
  if (n.id.startsWith('store:')) {
    const s = stores.get(n.id.slice(6));
    g.classList.add('store');
    g.dataset.store = s.name;
    el('path', { d: `M0,6 a${n.width / 2},6 0 0,1 ${n.width},0 v${n.height - 12} a${n.width / 2},6 0 0,1 -${n.width},0 z M0,6 a${n.width / 2},6 0 0,0 ${n.width},0` }, g);
    el('text', { x: n.width / 2, y: 20, class: 'title', 'text-anchor': 'middle' }, g).textContent = s.name;
    const entries = el('text', { x: n.width / 2, y: 31, class: 'rate', 'text-anchor': 'middle' }, g);
    entries.dataset.type = s.type;
    entries.textContent = `${s.type} store`;
    storeLabels.set(s.name, entries);
    return;
  }
  const node = byId.get(n.id);
  g.classList.add(`type-${node.type}`);
  g.dataset.node = node.id;
  el('rect', { width: n.width, height: n.height, rx: 6 }, g);
  el('text', { x: 10, y: 14, class: 'kind' }, g).textContent = node.definition;
  const title = el('text', { x: 10, y: 27, class: 'title' }, g);
  title.textContent = node.type;
  const expr = node.args?.expression;
  if (typeof expr === 'string') el('title', {}, g).textContent = `${node.id}: ${expr}`;
  const rate = el('text', { x: 10, y: 39, class: 'rate' }, g);
  rate.textContent = '0/s';
  rateLabels.set(node.id, rate);
}

const format = (n) => (n >= 1e4 ? `${(n / 1e3).toFixed(1)}k` : n >= 100 || Number.isInteger(n) ? String(Math.round(n)) : n.toFixed(1));

/** Per node: records in per second since the previous scrape, and the total. */
export function updateRates(metrics, previous) {
  const before = new Map((previous?.series.get('duality_records_in_total') ?? []).map((s) => [s.labels.node, s.value]));
  const dt = previous ? (metrics.at - previous.at) / 1000 : 0;
  for (const s of metrics.series.get('duality_records_in_total') ?? []) {
    const label = rateLabels.get(s.labels.node);
    if (!label) continue;
    const rate = dt > 0 ? Math.max(0, s.value - (before.get(s.labels.node) ?? 0)) / dt : 0;
    label.textContent = `${format(rate)}/s · ${format(s.value)} in`;
    label.dataset.rate = String(rate);
    label.parentNode.classList.toggle('busy', rate > 0);
  }
  const entries = new Map();
  for (const s of metrics.series.get('duality_store_entries') ?? []) entries.set(s.labels.store, (entries.get(s.labels.store) ?? 0) + s.value);
  for (const [name, label] of storeLabels) label.textContent = `${label.dataset.type} store · ${format(entries.get(name) ?? 0)} entries`;
}
