// Outside-in: the names issue 5 fixes, imported from the built package exactly as a user does.
// A rename, a changed field or a dropped export fails here (at runtime, and under tsc).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type CircuitBreaker, isProviderError, ProviderError, resilience } from '@tracks/breaker';
import type {
  Attachment,
  EmailAdapter,
  EmailMessage,
  ResilientEmailAdapter,
  SendResult,
} from '@tracks/email';
import * as email from '@tracks/email';
import {
  failover,
  InvalidMessageError,
  MemoryEmailAdapter,
  validateEmailMessage,
  withResilience,
} from '@tracks/email';
import { describeEmailAdapterContract } from '@tracks/email/testing';
import { describe, expect, expectTypeOf, it } from 'vitest';

const message: EmailMessage = {
  to: ['ann@example.com'],
  from: 'Shop <shop@example.com>',
  subject: 'hello',
  text: 'hi',
};

// the issue's EmailAdapter, field for field: a third-party adapter written to it must fit
function issueShapedAdapter(provider: string, send: EmailAdapter['send']): EmailAdapter {
  const adapter: { readonly provider: string; send: EmailAdapter['send']; close?(): Promise<void> } = {
    provider,
    send,
  };
  return adapter;
}

describe('@tracks/email public API', () => {
  it('exports the names issue 5 fixes', () => {
    for (const name of [
      'validateEmailMessage',
      'InvalidMessageError',
      'withResilience',
      'failover',
      'MemoryEmailAdapter',
    ]) {
      expect(typeof (email as Record<string, unknown>)[name], name).toBe('function');
    }
    expect(typeof describeEmailAdapterContract).toBe('function');
  });

  it('keeps the fields of EmailMessage, Attachment and SendResult', () => {
    expectTypeOf<EmailMessage>().toEqualTypeOf<{
      to: string[];
      cc?: string[];
      bcc?: string[];
      from: string;
      replyTo?: string;
      subject: string;
      html?: string;
      text?: string;
      headers?: Record<string, string>;
      attachments?: Attachment[];
      tags?: Record<string, string>;
      idempotencyKey?: string;
    }>();
    expectTypeOf<Attachment>().toEqualTypeOf<{
      filename: string;
      contentType: string;
      content: Uint8Array | string;
      contentId?: string;
    }>();
    expectTypeOf<SendResult>().toEqualTypeOf<{ provider: string; messageId: string; rejected?: string[] }>();
    expectTypeOf<EmailAdapter['send']>().toEqualTypeOf<
      (msg: EmailMessage, options?: { signal?: AbortSignal }) => Promise<SendResult>
    >();
    expectTypeOf(withResilience).returns.toMatchTypeOf<EmailAdapter>();
    expectTypeOf<Parameters<ResilientEmailAdapter['sendWithRetry']>[0]>().toEqualTypeOf<EmailMessage>();
    expectTypeOf<Parameters<ResilientEmailAdapter['sendWithRetry']>[1]>().toEqualTypeOf<number>();
  });

  it('refuses bad input with an InvalidMessageError of kind invalid naming the field, before any send', async () => {
    const memory = new MemoryEmailAdapter();
    const wrapped = withResilience(memory, { retry: false });
    const bad = { ...message, subject: 'hi\r\nBcc: victim@example.com' };
    expect(() => validateEmailMessage(bad)).toThrow(InvalidMessageError);
    const error = await wrapped.send(bad).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidMessageError);
    expect(isProviderError(error)).toBe(true);
    expect(error).toMatchObject({ kind: 'invalid', field: 'subject' });
    expect(memory.requests).toBe(0);
    expect(wrapped.policy.breaker?.state).toBe('closed');
  });

  it('withResilience takes a resilience() policy or its options, and names the breaker email:<provider>', async () => {
    const policy = resilience({ retry: false });
    const byPolicy = withResilience(new MemoryEmailAdapter({ provider: 'ses' }), policy);
    expect(byPolicy.policy).toBe(policy);
    const byOptions = withResilience(new MemoryEmailAdapter({ provider: 'ses' }), { retry: false });
    expect(byOptions.policy.breaker?.name).toBe('email:ses');
    await expect(byOptions.send(message)).resolves.toMatchObject({ provider: 'ses' });
    await expect(byOptions.sendWithRetry(message, 0)).resolves.toMatchObject({ provider: 'ses' });
  });

  it('lays breaker settings given in the options over the email preset and the email:<provider> name', async () => {
    const memory = new MemoryEmailAdapter({ provider: 'ses' });
    const wrapped = withResilience(memory, { retry: false, breaker: { timeout: 30_000 } });
    const breaker = wrapped.policy.breaker as CircuitBreaker;
    expect(breaker.name).toBe('email:ses');
    // the preset excludes message-scoped errors: a refused recipient never counts as a failure
    memory.failNext(
      new ProviderError({ kind: 'permanent', scope: 'message', provider: 'ses', operation: 'send' }),
    );
    await expect(wrapped.send(message)).rejects.toMatchObject({ kind: 'permanent' });
    expect(breaker.counts).toMatchObject({ totalFailures: 0, totalExclusions: 1 });
    const named = withResilience(memory, { breaker: { name: 'mine' } });
    expect(named.policy.breaker?.name).toBe('mine');
  });

  it('failover moves on after a provider-scoped error with either strategy, and names who sent', async () => {
    for (const strategy of ['fallback', 'round-robin'] as const) {
      const down = new MemoryEmailAdapter({ provider: 'ses' });
      down.failNext(new ProviderError({ kind: 'transient', provider: 'ses', operation: 'send' }), 10);
      const up = new MemoryEmailAdapter({ provider: 'sendgrid' });
      const both = failover([down, up], { strategy });
      const first = await both.send(message);
      const second = await both.send(message);
      expect([first.provider, second.provider]).toEqual(['sendgrid', 'sendgrid']);
    }
  });

  it('failover and withResilience take an adapter written to the issue interface (no limits field)', async () => {
    const sent: EmailMessage[] = [];
    const plain = issueShapedAdapter('plain', async (msg) => {
      sent.push(msg);
      return { provider: 'plain', messageId: '<1@plain>' };
    });
    const wrapped = withResilience(plain, { retry: false });
    await expect(failover([wrapped]).send(message)).resolves.toEqual({
      provider: 'plain',
      messageId: '<1@plain>',
    });
    // the defaults (SES v1's 50 recipients) apply to an adapter that declares no limits
    const many = { ...message, to: Array.from({ length: 51 }, (_, i) => `u${i}@example.com`) };
    await expect(failover([plain]).send(many)).rejects.toBeInstanceOf(InvalidMessageError);
    expect(sent).toHaveLength(1);
  });

  it('keeps the published shape: ESM, no side effects, Node >=20.19, dist only, types before default, peers also dev', () => {
    const manifest = JSON.parse(
      readFileSync(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8'),
    );
    expect(manifest).toMatchObject({ type: 'module', sideEffects: false, engines: { node: '>=20.19' } });
    expect(manifest.files).toEqual(['dist']);
    for (const [path, target] of Object.entries(manifest.exports as Record<string, unknown>)) {
      if (typeof target === 'object' && target !== null)
        expect(Object.keys(target), path).toEqual(['types', 'default']);
    }
    const optional = (manifest.peerDependenciesMeta ?? {}) as Record<string, { optional?: boolean }>;
    for (const peer of Object.keys(manifest.peerDependencies ?? {})) {
      expect(manifest.devDependencies?.[peer], peer).toBeDefined();
      // only a ./testing suite's vitest may be optional: a vendor SDK is a required peer
      if (optional[peer]?.optional) expect(peer).toBe('vitest');
    }
  });

  it('importing the built package starts no timer and holds the process open for nothing', () => {
    // every timer started while importing is recorded, unref'd ones too (those do not show
    // among the active resources); timers and sockets still open afterwards are listed
    const script = `
      import { createRequire, syncBuiltinESMExports } from 'node:module';
      const timers = createRequire(process.cwd() + '/')('node:timers');
      const started = [];
      for (const name of ['setTimeout', 'setInterval', 'setImmediate']) {
        const original = timers[name];
        const recorded = function (...args) {
          started.push(name);
          return original.apply(this, args);
        };
        timers[name] = recorded;
        globalThis[name] = recorded;
      }
      syncBuiltinESMExports();
      await import('@tracks/email');
      // TTY and pipe wraps are the process's own stdio, *Req entries module loading's fs calls
      const held = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap' && r !== 'PipeWrap' && !r.endsWith('Req'));
      console.log(JSON.stringify({ started, held }));`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect(child.error).toBeUndefined();
    expect(child.status, child.stderr).toBe(0);
    expect(JSON.parse(child.stdout.trim())).toEqual({ started: [], held: [] });
  });
});
