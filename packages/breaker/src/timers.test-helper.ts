import { onTestFinished } from 'vitest';

// Test-only: counts the timers our code starts and has not cleared or fired yet. Counting
// process.getActiveResourcesInfo() alone is flaky under vitest, whose own timers come and go.
export interface TimerTracker {
  /** Timers started since `trackTimers()` that have neither fired nor been cleared. */
  pending(): number;
  /** Puts the real setTimeout and clearTimeout back. */
  restore(): void;
}

export function trackTimers(): TimerTracker {
  const pending = new Set<unknown>();
  const realSet = globalThis.setTimeout;
  const realClear = globalThis.clearTimeout;
  globalThis.setTimeout = ((fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const handle = realSet(
      (...a: unknown[]) => {
        pending.delete(handle);
        fn(...a);
      },
      ms,
      ...args,
    );
    pending.add(handle);
    return handle;
  }) as typeof setTimeout;
  globalThis.clearTimeout = ((handle: Parameters<typeof clearTimeout>[0]) => {
    pending.delete(handle);
    realClear(handle);
  }) as typeof clearTimeout;
  const restore = (): void => {
    globalThis.setTimeout = realSet;
    globalThis.clearTimeout = realClear;
  };
  // a failing test must not leave the globals patched for the next one
  onTestFinished(restore);
  return { pending: () => pending.size, restore };
}

/** Node's count of active timer handles (what keeps a process alive). */
export function activeTimerHandles(): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
}
