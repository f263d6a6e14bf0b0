import { type EngineFacade, type KeyAnswer, type KeyPlace, type ScanPart, type TimeRange } from '../engine/api/engine-facade.js';
import { decodeCursor, mergePage } from '../engine/runtime/table-pages.js';
import { errorJson, HttpError, type Reply } from './errors.js';
import { toJson } from './json.js';
import { PeerUnreachable, type Peers, type PeerAnswer } from './peers.js';

/** Names the instance whose stores answered. */
export const SERVED_BY = 'duality-served-by';
/**
 * Set on a call one instance makes to another: the callee answers from its own stores only, never
 * forwarding again (no loops, whatever two instances believe of each other during a rebalance).
 */
export const FORWARDED_BY = 'duality-forwarded-by';
/** Seconds a client should wait before asking again when the owner of a key is unavailable. */
const RETRY_AFTER_S = 1;
export const MAX_KEYS = 1000;

/** Who asks: their credentials travel with forwarded calls; `forwardedBy` marks a call from another instance. */
export interface Caller {
  readonly authorization?: string | undefined;
  readonly forwardedBy?: string | undefined;
}

export interface KeyQuery {
  readonly range: TimeRange;
  /** A standby copy may answer while the active task cannot. */
  readonly stale: boolean;
  /** The query string as received, forwarded as it is. */
  readonly search: string;
}

const json = (status: number, value: unknown, headers: Record<string, string> = {}): Reply => ({ status, body: toJson(value), headers });
const error = (status: number, code: string, message: string, headers: Record<string, string> = {}): Reply => ({ status, body: errorJson(code, message), headers });
const unavailable = (message: string): Reply => error(503, 'NOT_AVAILABLE', message, { 'retry-after': String(RETRY_AFTER_S) });

/**
 * Queries over the group: any instance answers any key. A key's owner is found from the group's
 * assignment (every instance advertises its `host:port`, as Kafka Streams' `application.server`);
 * a key held elsewhere is fetched from its owner, retried once when the group has moved it; while
 * no instance can answer for it (rebalancing, restoring, its owner gone), the answer is 503 with
 * Retry-After, never a 404 for a key that may exist. Scans gather a page from every owner.
 */
export class QueryRouter {
  constructor(
    private readonly facade: EngineFacade,
    private readonly peers: Peers,
  ) {}

  private get self(): string | undefined {
    return this.facade.endpoint;
  }

  private forwardHeaders(caller: Caller, extra: Record<string, string> = {}): Record<string, string> {
    return { ...extra, [FORWARDED_BY]: this.self ?? 'unknown', ...(caller.authorization !== undefined && { authorization: caller.authorization }) };
  }

  /** `from` and `to` select windows: on a table without any, they are a mistake to point out, not to ignore. */
  checkRange(table: string, given: boolean): void {
    const info = this.facade.tables().find((t) => t.name === table);
    if (given && info && !info.windowed) throw new HttpError(400, 'BAD_QUERY', `table "${table}" is not windowed; from and to select windows`);
  }

  /** `GET /tables/{table}/keys/{key}`. */
  async key(table: string, keyText: string, q: KeyQuery, caller: Caller): Promise<Reply> {
    this.checkRange(table, q.range.from !== undefined || q.range.to !== undefined);
    const path = `/tables/${encodeURIComponent(table)}/keys/${encodeURIComponent(keyText)}${q.search}`;
    let place = await this.facade.locate(table, keyText);
    // A call from another instance: its sender tried the owner already, so a standby copy here may answer at once.
    if (caller.forwardedBy !== undefined) {
      return (await this.answerHere(table, place, q, q.stale)) ?? unavailable(`instance ${this.self} does not hold partition ${place.partition} of "${table}" (any more); ask again`);
    }
    const local = await this.answerHere(table, place, q, false);
    if (local) return local;
    let tried: string | undefined;
    for (let attempt = 0; attempt < 2; attempt++) {
      if (attempt > 0) {
        // The owner failed or refused: the group may have moved the key since.
        place = await this.facade.locate(table, keyText);
        const here = await this.answerHere(table, place, q, false);
        if (here) return here;
        if (place.owner === tried) break;
      }
      if (place.owner === undefined || place.owner === this.self) break;
      tried = place.owner;
      const answer = await this.ask(place.owner, 'GET', path, caller);
      if (answer && answer.status !== 503) return relay(answer);
    }
    if (q.stale) {
      const here = await this.answerHere(table, place, q, true);
      if (here) return here;
      for (const standby of place.standbys) {
        if (standby === this.self) continue;
        const answer = await this.ask(standby, 'GET', path, caller);
        if (answer && answer.status !== 503) return relay(answer);
      }
    }
    return unavailable(whyUnavailable(table, place, this.self));
  }

  /** The answer from this instance's stores: its active task's, or with `stale` a standby copy's; undefined when it holds neither. */
  private async answerHere(table: string, place: KeyPlace, q: KeyQuery, stale: boolean): Promise<Reply | undefined> {
    if (!place.local && !stale) return undefined;
    const held = await this.facade.readLocal(table, place, q.range, stale);
    if (!held) return undefined;
    const headers = { [SERVED_BY]: this.self ?? 'local' };
    if (held.answer === undefined) return error(404, 'KEY_NOT_FOUND', `table "${table}" has no key ${JSON.stringify(place.key)}`, headers);
    return json(200, held.stale ? { ...held.answer, stale: true } : held.answer, headers);
  }

  /** `POST /tables/{table}/keys`: every key asked for, found or not, in the order asked; one call per owner. */
  async keys(table: string, keys: unknown[], q: KeyQuery, caller: Caller): Promise<Reply> {
    if (keys.length > MAX_KEYS) throw new HttpError(400, 'TOO_MANY_KEYS', `at most ${MAX_KEYS} keys per request, not ${keys.length}`);
    this.checkRange(table, q.range.from !== undefined || q.range.to !== undefined);
    const entries: (Record<string, unknown> | undefined)[] = new Array(keys.length);
    let pending = keys.map((_, i) => i);
    const forwarded = caller.forwardedBy !== undefined;
    // Rounds: the owners, the owners again (a rebalance may have moved keys), then with `stale` the standbys.
    const rounds = forwarded ? 1 : q.stale ? 3 : 2;
    for (let round = 0; round < rounds && pending.length > 0; round++) {
      const places = await Promise.all(pending.map((i) => this.facade.locate(table, { json: keys[i] })));
      const remote = new Map<string, number[]>();
      const left: number[] = [];
      for (const [j, i] of pending.entries()) {
        const place = places[j]!;
        const standby = round === 2;
        const here = forwarded || (standby ? place.standbys.includes(this.self ?? '') : place.local);
        const held = here ? await this.facade.readLocal(table, place, q.range, standby || (forwarded && q.stale)) : undefined;
        const there = standby ? place.standbys.find((e) => e !== this.self) : place.owner !== this.self ? place.owner : undefined;
        if (held) entries[i] = entry(place.key, held.answer, held.stale);
        else if (!here && there !== undefined) remote.set(there, [...(remote.get(there) ?? []), i]);
        else left.push(i);
      }
      await Promise.all(
        [...remote].map(async ([owner, asked]) => {
          const answer = await this.ask(owner, 'POST', `/tables/${encodeURIComponent(table)}/keys${q.search}`, caller, Buffer.from(toJson({ keys: asked.map((i) => keys[i]) })));
          const got = answer?.status === 200 ? (JSON.parse(answer.body.toString('utf8')) as { entries: Record<string, unknown>[] }).entries : undefined;
          asked.forEach((i, k) => {
            const e = got?.[k];
            if (e && e.unavailable !== true) entries[i] = e;
            else left.push(i);
          });
        }),
      );
      pending = left;
    }
    if (pending.length > 0) {
      // A forwarded call says which keys it could not answer; the first instance answers 503.
      if (caller.forwardedBy !== undefined) {
        for (const i of pending) entries[i] = { key: keys[i], unavailable: true };
      } else {
        return unavailable(`${pending.length} of the ${keys.length} keys are held by no instance that answers now (the group is rebalancing, or an instance is restoring or gone)`);
      }
    }
    return json(200, { entries }, { [SERVED_BY]: this.self ?? 'local' });
  }

  /** `GET /tables/{table}?...`: a page merged from every owner's tasks; each partition read from exactly one. */
  async scan(table: string, o: { prefix?: string; limit: number; cursor?: string; range: TimeRange; search: string }, caller: Caller): Promise<Reply> {
    const after = o.cursor === undefined ? undefined : decodeCursor(o.cursor);
    const request = { limit: o.limit, range: o.range, ...(o.prefix !== undefined && { prefix: o.prefix }), ...(after !== undefined && { after }) };
    const local = await this.facade.scanLocal(table, request);
    if (caller.forwardedBy !== undefined) return json(200, { parts: local.map(partJson) });
    const count = await this.facade.partitionCount(table);
    const parts = new Map<number, ScanPart>();
    for (const p of local) parts.set(p.partition, p);
    for (let attempt = 0; attempt < 2 && parts.size < count; attempt++) {
      const owners = new Set<string>();
      for (const m of await this.facade.instances()) {
        if (m.endpoint !== undefined && m.endpoint !== this.self) owners.add(m.endpoint);
      }
      await Promise.all(
        [...owners].map(async (owner) => {
          const answer = await this.ask(owner, 'GET', `/tables/${encodeURIComponent(table)}${o.search}`, caller);
          if (answer?.status !== 200) return;
          for (const p of (JSON.parse(answer.body.toString('utf8')) as { parts: PartJson[] }).parts) {
            if (!parts.has(p.partition)) parts.set(p.partition, partFromJson(p));
          }
        }),
      );
    }
    if (parts.size < count) {
      const missing = [...Array(count).keys()].filter((p) => !parts.has(p));
      return unavailable(`partition${missing.length === 1 ? '' : 's'} ${missing.join(', ')} of "${table}" ${missing.length === 1 ? 'is' : 'are'} held by no instance that answers now (the group is rebalancing, or an instance is restoring or gone)`);
    }
    const { rows, cursor } = mergePage([...parts.values()], o.limit);
    return json(200, { entries: rows.map((r) => r.entry), ...(cursor !== undefined && { cursor }) }, { [SERVED_BY]: this.self ?? 'local' });
  }

  /** `GET /instances`: the group's members, what each holds, and the state each reports. */
  async instances(state: string, caller: Caller): Promise<Reply> {
    const members = await this.facade.instances();
    const out = await Promise.all(
      members.map(async (m) => {
        const self = m.endpoint === this.self;
        let memberState = state;
        if (!self) {
          const answer = m.endpoint === undefined ? undefined : await this.ask(m.endpoint, 'GET', '/healthz', caller);
          memberState = answer?.status === 200 ? String((JSON.parse(answer.body.toString('utf8')) as { state?: unknown }).state) : 'unreachable';
        }
        return { endpoint: m.endpoint ?? null, self, state: memberState, active: m.active, standby: m.standby };
      }),
    );
    return json(200, { instances: out });
  }

  /** A call to another instance; undefined when it could not be reached. */
  private async ask(endpoint: string, method: 'GET' | 'POST', path: string, caller: Caller, body?: Buffer): Promise<PeerAnswer | undefined> {
    try {
      return await this.peers.call(endpoint, method, path, this.forwardHeaders(caller, body ? { 'content-type': 'application/json' } : {}), body);
    } catch (e) {
      if (e instanceof PeerUnreachable) return undefined;
      throw e;
    }
  }
}

function entry(key: unknown, answer: KeyAnswer | undefined, stale: boolean): Record<string, unknown> {
  if (answer === undefined) return { key, found: false };
  const { key: asked, ...rest } = answer;
  return { key: asked, found: true, ...rest, ...(stale && { stale: true }) };
}

/** Another instance's answer, passed on as it came (its status, body and who served it). */
function relay(answer: PeerAnswer): Reply {
  const headers: Record<string, string> = {};
  for (const h of [SERVED_BY, 'retry-after', 'www-authenticate']) {
    const v = answer.headers[h];
    if (typeof v === 'string') headers[h] = v;
  }
  return { status: answer.status, body: answer.body, headers };
}

function whyUnavailable(table: string, place: KeyPlace, self: string | undefined): string {
  const where = `partition ${place.partition} of "${table}"`;
  if (place.owner === undefined) return `no instance holds ${where} now (the group is rebalancing); ask again`;
  if (place.owner === self) return `this instance is restoring ${where}; ask again once it is ready (or with ?stale=true, from a standby)`;
  return `instance ${place.owner}, which holds ${where}, did not answer; ask again`;
}

interface PartJson {
  partition: number;
  rows: { position: string; size: number; entry: Record<string, unknown> }[];
  next?: string;
}

const partJson = (p: ScanPart): PartJson => ({
  partition: p.partition,
  rows: p.rows.map((r) => ({ position: r.position.toString('base64'), size: r.size, entry: r.entry })),
  ...(p.next !== undefined && { next: p.next.toString('base64') }),
});

function partFromJson(p: PartJson): ScanPart {
  return {
    partition: p.partition,
    rows: p.rows.map((r) => ({ position: Buffer.from(r.position, 'base64'), size: r.size, entry: r.entry as ScanPart['rows'][number]['entry'] })),
    ...(p.next !== undefined && { next: Buffer.from(p.next, 'base64') }),
  };
}
