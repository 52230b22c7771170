// Test-only helpers (not exported from the package): a parser for the text exposition format
// and structural fakes built on the real Emitter from @tracks/breaker.
import { Emitter } from '@tracks/breaker';
import type {
  BreakerCreatedEvent,
  BreakerState,
  CallErrorEvent,
  CallEvent,
  ObservableBreaker,
  ObservableBreakerRegistry,
  RejectEvent,
  StateChangeEvent,
} from './observable.js';

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Exposition {
  readonly help: ReadonlyMap<string, string>;
  readonly type: ReadonlyMap<string, string>;
  readonly samples: readonly Sample[];
}

/** Parses Prometheus text format 0.0.4 strictly enough that a malformed line fails the test. */
export function parseExposition(text: string): Exposition {
  const help = new Map<string, string>();
  const type = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (meta) {
      (meta[1] === 'HELP' ? help : type).set(meta[2]!, meta[3]!);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    const body = m[2] ?? '';
    const labelRe = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/gy;
    let consumed = 0;
    for (let l = labelRe.exec(body); l !== null; l = labelRe.exec(body)) {
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      consumed = labelRe.lastIndex;
    }
    if (consumed !== body.length) throw new Error(`unparsable labels: ${line}`);
    const raw = m[3]!;
    const value =
      raw === '+Inf' ? Number.POSITIVE_INFINITY : raw === '-Inf' ? Number.NEGATIVE_INFINITY : Number(raw);
    if (Number.isNaN(value) && raw !== 'NaN') throw new Error(`bad sample value: ${line}`);
    samples.push({ name: m[1]!, labels, value });
  }
  return { help, type, samples };
}

/** The value of the one sample with this name and exactly these labels, or undefined. */
export function sample(e: Exposition, name: string, labels: Record<string, string> = {}): number | undefined {
  const keys = Object.keys(labels);
  const found = e.samples.filter(
    (s) =>
      s.name === name &&
      Object.keys(s.labels).length === keys.length &&
      keys.every((k) => s.labels[k] === labels[k]),
  );
  if (found.length > 1) throw new Error(`${found.length} samples for ${name} ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

/** A breaker that satisfies ObservableBreaker and lets a test emit each event by hand. */
export class FakeBreaker implements ObservableBreaker {
  state: BreakerState = 'closed';
  readonly stateChanges: Emitter<StateChangeEvent> = new Emitter();
  readonly successes: Emitter<CallEvent> = new Emitter();
  readonly failures: Emitter<CallErrorEvent> = new Emitter();
  readonly exclusions: Emitter<CallErrorEvent> = new Emitter();
  readonly rejections: Emitter<RejectEvent> = new Emitter();

  constructor(readonly name: string) {}

  onStateChange(l: (e: StateChangeEvent) => void): () => void {
    return this.stateChanges.on(l);
  }
  onSuccess(l: (e: CallEvent) => void): () => void {
    return this.successes.on(l);
  }
  onFailure(l: (e: CallErrorEvent) => void): () => void {
    return this.failures.on(l);
  }
  onExclusion(l: (e: CallErrorEvent) => void): () => void {
    return this.exclusions.on(l);
  }
  onReject(l: (e: RejectEvent) => void): () => void {
    return this.rejections.on(l);
  }

  /** Listeners attached across all five events. */
  get listenerCount(): number {
    return (
      this.stateChanges.size +
      this.successes.size +
      this.failures.size +
      this.exclusions.size +
      this.rejections.size
    );
  }
}

/** A registry that satisfies ObservableBreakerRegistry. */
export class FakeRegistry implements ObservableBreakerRegistry {
  readonly breakers: FakeBreaker[] = [];
  readonly created: Emitter<BreakerCreatedEvent> = new Emitter();

  get(name: string): FakeBreaker {
    let b = this.breakers.find((x) => x.name === name);
    if (b === undefined) {
      b = new FakeBreaker(name);
      this.breakers.push(b);
      this.created.emit({ name, breaker: b });
    }
    return b;
  }
  all(): FakeBreaker[] {
    return [...this.breakers];
  }
  onCreate(l: (e: BreakerCreatedEvent) => void): () => void {
    return this.created.on(l);
  }
}
