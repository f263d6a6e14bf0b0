import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { compileTopologyFile } from '../../engine/compiler/index.js';
import { renderGraph } from '../../engine/describe/index.js';
import { ROOT } from '../root.js';
import { launchChromium } from './chromium.js';

let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

/** Renders Mermaid text with mermaid.js in Chromium; returns the SVG's text, or throws mermaid's error. */
async function render(diagram: string): Promise<string> {
  const page = await browser.newPage();
  try {
    await page.setContent('<html><body><div id="out"></div></body></html>');
    await page.addScriptTag({ content: readFileSync(`${ROOT}node_modules/mermaid/dist/mermaid.min.js`, 'utf8') });
    return await page.evaluate(async (text) => {
      const m = (globalThis as unknown as { mermaid: { initialize(o: object): void; render(id: string, t: string): Promise<{ svg: string }> } }).mermaid;
      m.initialize({ startOnLoad: false, securityLevel: 'strict' });
      const { svg } = await m.render('graph', text);
      const out = (globalThis as unknown as { document: { getElementById(id: string): { innerHTML: string; textContent: string | null } } }).document.getElementById('out');
      out.innerHTML = svg;
      return out.textContent ?? '';
    }, diagram);
  } finally {
    await page.close();
  }
}

test('describe --format mermaid renders in Mermaid for every example', async () => {
  for (const name of ['wordcount', 'retail-inventory', 'click-enrichment', 'ad-attribution', 'sales-per-product', 'user-sessions']) {
    const { graph } = compileTopologyFile(`${ROOT}topologies/${name}.yaml`);
    const text = await render(renderGraph(graph!, 'mermaid'));
    for (const sub of graph!.subtopologies) assert.ok(text.includes(`Sub-topology ${sub.id}`), `${name}: sub-topology ${sub.id}`);
    for (const t of graph!.topics.filter((t) => t.role === 'repartition')) assert.ok(text.includes(t.name), `${name}: ${t.name}`);
    for (const s of graph!.stores) assert.ok(text.includes(s.name), `${name}: store ${s.name}`);
  }
});

