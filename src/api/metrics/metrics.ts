// Prometheus metrics of one server (prom-client, one Registry per server): core operations by
// face/operation/mechanism/outcome and their latency, sessions, open connections, objects by
// class, module state, self-tests and audit health. Label values come only from fixed sets
// (faces, operation names, CKM_/CKO_ names, error codes): never usernames, key labels, key ids
// or free detail text, and a number no table knows becomes "other" so no caller can grow the series.
import type { Server } from 'node:net';
import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';

/** One process's metrics as prom-client renders them to JSON (what workers exchange). */
export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];
import type { AuditEvent } from '../../core/audit/audit-log';
import type { Hsm, ModuleState } from '../../core/hsm';
import type { P11Stats } from '../p11/listener';
import type { Face } from '../../core/principal';
import { ERRORS } from '../../errors/catalog';
import { CKM, CKO } from '../../pkcs11/constants';

const STATES: readonly ModuleState[] = ['uninitialized', 'sealed', 'unsealed', 'error'];
const FACES: readonly Face[] = ['admin', 'p11', 'kms', 'akv', 'xks', 'internal'];
/** The core writes crypto and key-generation details starting with the mechanism's CKM_ name. */
const MECHANISM_DETAIL = /^(CKM_[A-Z0-9_]+)(?![A-Z0-9_])/;
const KNOWN_MECHANISMS = new Set(Object.keys(CKM).map((n) => `CKM_${n}`));
/** From sub-millisecond ECDSA signs to multi-second RSA-4096 key generation. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The CKM_ name of an audit detail's mechanism; "none" without one, "other" if unknown. */
export function mechanismLabel(detail: string | undefined): string {
  const m = detail === undefined ? null : MECHANISM_DETAIL.exec(detail);
  if (!m) return 'none';
  return KNOWN_MECHANISMS.has(m[1]) ? m[1] : 'other';
}

const faceLabel = (face: string): string => (FACES as readonly string[]).includes(face) ? face : 'other';
const codeLabel = (code: string | undefined): string => code !== undefined && code in ERRORS ? code : 'other';
const CLASS_NAMES = new Map<number, string>(Object.entries(CKO).map(([name, value]) => [value, `CKO_${name}`]));
/** Distinct label sets one per-call table keeps; more (none are expected: every label is from a fixed set) are counted as "other". */
const MAX_SERIES = 4096;

/**
 * Per-call counts kept in plain entries and copied into their prom-client counter at scrape time
 * (its `collect`): a call adds 1 to an entry found by one string key, with no label object built,
 * hashed or validated per call. Bounded by MAX_SERIES entries.
 */
class CountTable<L extends string> {
  private readonly rows = new Map<string, { labels: Partial<Record<L, string>>; n: number }>();
  constructor(private readonly overflow: Partial<Record<L, string>>) {}

  add(key: string, labels: () => Partial<Record<L, string>>): void {
    let row = this.rows.get(key);
    if (!row) {
      if (this.rows.size >= MAX_SERIES) key = '\0other';
      row = this.rows.get(key);
      if (!row) { row = { labels: key === '\0other' ? this.overflow : labels(), n: 0 }; this.rows.set(key, row); }
    }
    row.n++;
  }

  copyInto(counter: Counter<L>): void {
    counter.reset();
    for (const { labels, n } of this.rows.values()) counter.inc(labels, n);
  }
}

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly sessionSources = new Map<string, () => number>();
  private readonly operations: Counter<'face' | 'operation' | 'mechanism' | 'outcome'>;
  private readonly errors: Counter<'face' | 'operation' | 'code'>;
  private readonly latency: Histogram<'face' | 'operation'>;
  private readonly operationCounts = new CountTable<'face' | 'operation' | 'mechanism' | 'outcome'>({ face: 'other', operation: 'other', mechanism: 'other', outcome: 'other' });
  private readonly errorCounts = new CountTable<'face' | 'operation' | 'code'>({ face: 'other', operation: 'other', code: 'other' });
  /** The latency histogram's label objects, one per face and operation (bounded like the tables). */
  private readonly latencyLabels = new Map<string, { face: string; operation: string }>();
  private readonly connections: Gauge;
  private readonly connectionsTotal: Counter;
  private readonly objects: Gauge<'class'>;
  private readonly state: Gauge<'state'>;
  private readonly selfTestsPassed: Gauge;
  private readonly selfTestsFailed: Gauge;
  private readonly auditFailures: Counter;
  private readonly auditLastFailed: Gauge;
  private readonly auditRecords: Gauge;

  /** `node` (a cluster node's name) labels every series, so one Prometheus can tell the nodes apart. */
  constructor(node?: string) {
    if (node) this.registry.setDefaultLabels({ node });
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const operationCounts = this.operationCounts;
    const errorCounts = this.errorCounts;
    this.operations = new Counter({ name: 'inkan_operations_total', help: 'Core operations by face, operation, PKCS#11 mechanism and outcome.',
      labelNames: ['face', 'operation', 'mechanism', 'outcome'], registers, collect() { operationCounts.copyInto(this); } });
    this.errors = new Counter({ name: 'inkan_operation_errors_total', help: 'Failed core operations by face, operation and error code.',
      labelNames: ['face', 'operation', 'code'], registers, collect() { errorCounts.copyInto(this); } });
    this.latency = new Histogram({ name: 'inkan_operation_duration_seconds', help: 'Core operation latency, audit write included.',
      labelNames: ['face', 'operation'], buckets: LATENCY_BUCKETS, registers });
    const sessions = this.sessionSources;
    new Gauge({
      name: 'inkan_sessions', help: 'Open login sessions by face.', labelNames: ['face'], registers,
      collect() { for (const [face, count] of sessions) this.set({ face }, count()); },
    });
    this.connections = new Gauge({ name: 'inkan_http_open_connections', help: 'Open connections to the HTTP listener (admin and KMS API).', registers });
    this.connectionsTotal = new Counter({ name: 'inkan_http_connections_total', help: 'Connections accepted by the HTTP listener.', registers });
    this.objects = new Gauge({ name: 'inkan_objects', help: 'Stored objects by CKO_ class, over every partition.', labelNames: ['class'], registers });
    this.state = new Gauge({ name: 'inkan_module_state', help: 'Module state: 1 for the current one, 0 for the others.', labelNames: ['state'], registers });
    this.selfTestsPassed = new Gauge({ name: 'inkan_self_tests_passed', help: '1 when every power-up self-test passed, else 0.', registers });
    this.selfTestsFailed = new Gauge({ name: 'inkan_self_tests_failed', help: 'Power-up self-tests that failed.', registers });
    this.auditFailures = new Counter({ name: 'inkan_audit_write_failures_total', help: 'Audit records that could not be written (their operations were refused).', registers });
    this.auditLastFailed = new Gauge({ name: 'inkan_audit_last_write_failed', help: '1 while the last audit write failed, else 0.', registers });
    this.auditRecords = new Gauge({ name: 'inkan_audit_records', help: 'Records in the audit log (sequence number of its head).', registers });
  }

  /** The observer given to Hsm: one audited core operation finished after `seconds`. */
  readonly operation = (e: AuditEvent, seconds: number): void => {
    const face = faceLabel(e.face);
    const op = e.op;
    const mechanism = mechanismLabel(e.detail);
    const faceOp = `${face}\0${op}`;
    this.operationCounts.add(`${faceOp}\0${mechanism}\0${e.outcome}`, () => ({ face, operation: op, mechanism, outcome: e.outcome }));
    if (e.outcome === 'failure') {
      const code = codeLabel(e.code);
      this.errorCounts.add(`${faceOp}\0${code}`, () => ({ face, operation: op, code }));
    }
    let labels = this.latencyLabels.get(faceOp);
    if (!labels) {
      labels = this.latencyLabels.size < MAX_SERIES ? { face, operation: op } : { face: 'other', operation: 'other' };
      if (this.latencyLabels.size < MAX_SERIES) this.latencyLabels.set(faceOp, labels);
    }
    this.latency.observe(labels, seconds);
  };

  /** Adds a face's session count, read at scrape time (admin; PKCS#11 through trackP11). */
  addSessions(face: string, count: () => number): void {
    this.sessionSources.set(face, count);
  }

  /**
   * The PKCS#11 face, read at scrape time: its sessions (inkan_sessions{face="p11"}), open
   * connections, refusals and closes by reason, and the bytes held against its budgets.
   */
  trackP11(stats: () => P11Stats): void {
    const registers = [this.registry];
    this.addSessions('p11', () => stats().sessions);
    new Gauge({ name: 'inkan_p11_open_connections', help: 'Open connections to the PKCS#11 (p11-kit RPC) socket.', registers,
      collect() { this.set(stats().connections); } });
    new Counter({ name: 'inkan_p11_connections_total', help: 'Connections admitted by the PKCS#11 listener.', registers,
      collect() { this.reset(); this.inc(stats().accepted); } });
    new Counter({ name: 'inkan_p11_connections_refused_total', help: 'Connections refused at accept, by the limit that refused them.', labelNames: ['reason'], registers,
      collect() { this.reset(); for (const [reason, n] of Object.entries(stats().refused)) this.inc({ reason }, n); } });
    new Counter({ name: 'inkan_p11_connections_closed_total', help: 'Closed PKCS#11 connections by reason (client, handshake_timeout, idle_timeout, protocol, request_budget, server).',
      labelNames: ['reason'], registers,
      collect() { this.reset(); for (const [reason, n] of Object.entries(stats().closed)) this.inc({ reason }, n ?? 0); } });
    new Gauge({ name: 'inkan_p11_buffered_bytes', help: 'Bytes held against the PKCS#11 budgets: request frames and multi-part input.', labelNames: ['budget'], registers,
      collect() { const st = stats(); this.set({ budget: 'request' }, st.requestBufferBytes); this.set({ budget: 'multipart' }, st.multipartBytes); } });
  }

  /** The HTTP listener's limits at work: body bytes charged to its budget, connections refused at the cap. */
  trackHttp(stats: () => { bodyBytes: number; bodyRefusals: number; connectionsRefused: number }): void {
    const registers = [this.registry];
    new Gauge({ name: 'inkan_http_buffered_bytes', help: 'Request-body bytes held beyond the free 64 KiB of each HTTP request.', registers,
      collect() { this.set(stats().bodyBytes); } });
    new Counter({ name: 'inkan_http_bodies_refused_total', help: 'HTTP request bodies refused because the body budget was spent (503 DEVICE_MEMORY).', registers,
      collect() { this.reset(); this.inc(stats().bodyRefusals); } });
    new Counter({ name: 'inkan_http_connections_refused_total', help: 'HTTP connections closed on arrival because the connection cap was reached.', registers,
      collect() { this.reset(); this.inc(stats().connectionsRefused); } });
  }

  /** Counts the listener's open connections (for TLS, the TCP connections under it). */
  trackConnections(server: Server): void {
    server.on('connection', (socket) => {
      this.connections.inc();
      this.connectionsTotal.inc();
      socket.once('close', () => this.connections.dec());
    });
  }

  /** The other workers' metrics (`inkan serve --workers`): a scrape of any worker shows every
   *  worker's series, each labelled with its node, whichever worker the connection reached. */
  siblings?: () => Promise<MetricsJson[]>;

  /** Reads the module's state and the store's object counts, then renders every metric. */
  async scrape(hsm: Hsm): Promise<string> {
    if (!this.siblings) {
      await this.refresh(hsm);
      return this.registry.metrics();
    }
    const [own, others] = await Promise.all([this.scrapeJson(hsm), this.siblings().catch(() => [])]);
    return AggregatorRegistry.aggregate([own, ...others]).metrics();
  }

  /** This process's metrics alone, as JSON. */
  async scrapeJson(hsm: Hsm): Promise<MetricsJson> {
    await this.refresh(hsm);
    return await this.registry.getMetricsAsJSON() as MetricsJson;
  }

  get contentType(): string { return this.registry.contentType; }

  /** A store that cannot be read leaves its gauges at their last values: the rest still renders. */
  private async refresh(hsm: Hsm): Promise<void> {
    const st = await hsm.status().catch(() => undefined);
    const state = st?.state ?? hsm.state;
    for (const s of new Set([...STATES, state])) this.state.set({ state: s }, s === state ? 1 : 0);
    if (st) {
      this.selfTestsPassed.set(st.selfTests.passed ? 1 : 0);
      this.selfTestsFailed.set(st.selfTests.failed.length);
      this.auditRecords.set(Math.max(0, st.audit.records));
    }
    this.auditLastFailed.set(hsm.audit.lastFailure ? 1 : 0);
    // A counter cannot be set; the audit log owns the running total, so mirror it.
    this.auditFailures.reset();
    this.auditFailures.inc(hsm.audit.failures);
    // One indexed count per class (cheap; never a scan of the objects themselves).
    const byName = new Map<string, number>();
    try {
      for (const [cls, name] of CLASS_NAMES) byName.set(name, await hsm.store.count('objects', { cls }));
    } catch { return; }
    this.objects.reset();
    for (const [name, n] of byName) this.objects.set({ class: name }, n);
  }
}
