import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isProviderError } from '@tracks/breaker';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { FsStorageAdapter, mapFsError } from './fs-adapter.js';
import { isInvalidKeyError } from './validation.js';

const base = mkdtempSync(join(tmpdir(), 'tracks-fs-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

let root: string;
let outside: string;
let adapter: FsStorageAdapter;
let n = 0;
beforeEach(() => {
  n++;
  root = join(base, `root-${n}`);
  outside = join(base, `outside-${n}`);
  mkdirSync(outside, { recursive: true });
  writeFileSync(join(outside, 'secret.txt'), 'top secret');
  adapter = new FsStorageAdapter({ root });
});

// every file under a folder, relative to it
function tree(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tree(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
  );
}

describe('FsStorageAdapter', () => {
  it('lays objects out under the root with a sidecar beside each', async () => {
    await adapter.put('images/cat.png', 'meow', { contentType: 'image/png', metadata: { by: 'me' } });
    expect(tree(root).sort()).toEqual(['images~/cat.png', 'images~/cat.png~meta.json']);
    expect(readFileSync(join(root, 'images~', 'cat.png'), 'utf8')).toBe('meow');
    const sidecar = JSON.parse(readFileSync(join(root, 'images~', 'cat.png~meta.json'), 'utf8'));
    expect(sidecar).toMatchObject({ contentType: 'image/png', metadata: { by: 'me' }, size: 4 });
  });

  it('keeps keys that look like sidecars, temporary files or folders apart from them', async () => {
    const keys = ['a', 'a~meta.json', 'a~', 'a~tmp-123', 'a/b', 'a%7E', 'a:b*?"<>|'];
    for (const key of keys) await adapter.put(key, key, { metadata: { key: key.replace(/[^a-z]/g, '') } });
    for (const key of keys) {
      const object = await adapter.get(key);
      expect(await object?.text(), key).toBe(key);
    }
    expect((await adapter.list()).items.map((i) => i.key).sort()).toEqual([...keys].sort());
    expect(tree(root).every((path) => path.split('/').every((part) => !part.startsWith('.')))).toBe(true);
  });

  it('never writes outside the root, whatever the key', async () => {
    const attempts = [
      '../escape',
      'a/../../escape',
      '..%2Fescape',
      '%2e%2e/escape',
      'a\\..\\escape',
      '/etc/passwd',
    ];
    for (const key of attempts) {
      await expect(adapter.put(key, 'x')).rejects.toSatisfy(isInvalidKeyError);
    }
    // dots inside a segment are just characters
    await adapter.put('..escape/x..y', 'fine');
    expect(tree(root).sort()).toEqual(['..escape~/x..y', '..escape~/x..y~meta.json']);
    expect(readdirSync(base).filter((name) => name.includes('escape'))).toEqual([]);
    expect(readdirSync(outside)).toEqual(['secret.txt']);
  });

  it('refuses a folder that is a symbolic link out of the root', async () => {
    await adapter.put('seed', 'x'); // creates the root
    symlinkSync(outside, join(root, 'linked~'));
    const refused = { kind: 'permanent', scope: 'message', field: 'key' };
    await expect(adapter.get('linked/secret.txt')).rejects.toMatchObject(refused);
    await expect(adapter.head('linked/secret.txt')).rejects.toMatchObject(refused);
    await expect(adapter.put('linked/planted.txt', 'x')).rejects.toMatchObject(refused);
    await expect(adapter.delete('linked/secret.txt')).rejects.toMatchObject(refused);
    expect(readdirSync(outside)).toEqual(['secret.txt']);
    // and listing does not follow it, from the root or from a prefix inside the link
    expect((await adapter.list()).items.map((i) => i.key)).toEqual(['seed']);
    await expect(adapter.list('linked/')).rejects.toMatchObject({ ...refused, field: 'prefix' });
    await expect(adapter.list('linked/sec')).rejects.toMatchObject({ ...refused, field: 'prefix' });
  });

  it('refuses a data file that is a symbolic link', async () => {
    await adapter.put('seed', 'x');
    symlinkSync(join(outside, 'secret.txt'), join(root, 'leak'));
    await expect(adapter.get('leak')).rejects.toMatchObject({ kind: 'permanent', scope: 'message' });
    await expect(adapter.head('leak')).rejects.toMatchObject({ kind: 'permanent', scope: 'message' });
    // a put replaces the link itself (rename does not follow it), never the file it points to
    await adapter.put('leak', 'replaced');
    expect(readFileSync(join(outside, 'secret.txt'), 'utf8')).toBe('top secret');
    expect(await (await adapter.get('leak'))!.text()).toBe('replaced');
  });

  it('accepts a root that is itself reached through a symbolic link', async () => {
    const real = join(base, `real-root-${n}`);
    mkdirSync(real);
    const link = join(base, `link-root-${n}`);
    symlinkSync(real, link);
    const linked = new FsStorageAdapter({ root: link });
    await linked.put('a/b', 'through the link');
    expect(await (await linked.get('a/b'))!.text()).toBe('through the link');
    expect(existsSync(join(real, 'a~', 'b'))).toBe(true);
  });

  it('writes atomically: a reader sees the old or the new object, never a partial one', async () => {
    const old = 'o'.repeat(64 * 1024);
    await adapter.put('atomic', old);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        controller.enqueue(new Uint8Array(32 * 1024).fill(110)); // 'n'
        await gate;
        controller.enqueue(new Uint8Array(32 * 1024).fill(110));
        controller.close();
      },
    });
    const writing = adapter.put('atomic', body);
    // until the first half is in the temporary file (polled: no fixed sleep to lose under load)
    for (let i = 0; i < 400 && !tree(root).some((p) => p.includes('~tmp-')); i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    // half the new body is on disk, in the temporary file: readers still get the old one
    expect(await (await adapter.get('atomic'))!.text()).toBe(old);
    expect(tree(root).some((p) => p.includes('~tmp-'))).toBe(true);
    release();
    await writing;
    expect(await (await adapter.get('atomic'))!.text()).toBe('n'.repeat(64 * 1024));
    expect(tree(root).some((p) => p.includes('~tmp-'))).toBe(false);
  });

  it('removes the temporary file when an upload fails', async () => {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array(10));
        controller.error(new Error('source broke'));
      },
    });
    await expect(adapter.put('broken/upload', body)).rejects.toBeDefined();
    expect(await adapter.head('broken/upload')).toBeNull();
    expect(tree(root).filter((p) => p.includes('~tmp-'))).toEqual([]);
  });

  it('removes folders that a delete leaves empty', async () => {
    await adapter.put('keep', 'x');
    await adapter.put('deep/er/still/file', 'x');
    await adapter.delete('deep/er/still/file');
    expect(tree(root).sort()).toEqual(['keep', 'keep~meta.json']);
    expect(readdirSync(root)).not.toContain('deep~');
  });

  it('does not hang on a FIFO planted under the root', async () => {
    await adapter.put('seed', 'x');
    const made = spawnSync('mkfifo', [join(root, 'pipe')]);
    expect(made.status, 'mkfifo is part of coreutils').toBe(0);
    expect(await adapter.get('pipe')).toBeNull();
    expect(await adapter.head('pipe')).toBeNull();
    expect((await adapter.list()).items.map((i) => i.key)).toEqual(['seed']);
  });

  it('ignores a sidecar that describes another version of the file', async () => {
    await adapter.put('k', 'old', { contentType: 'text/plain', metadata: { v: '1' } });
    // the data file replaced behind the adapter's back (a new inode): its sidecar no longer applies
    writeFileSync(join(root, 'k.new'), 'replaced by hand');
    renameSync(join(root, 'k.new'), join(root, 'k'));
    const head = await adapter.head('k');
    expect(head).toMatchObject({ size: 16, contentType: 'application/octet-stream', metadata: {} });
    expect(head?.etag).toBeUndefined();
    const object = await adapter.get('k');
    expect(object?.metadata).toEqual({});
    expect(await object?.text()).toBe('replaced by hand');
    expect((await adapter.list()).items[0]).toMatchObject({ key: 'k', metadata: {} });
  });

  it('survives puts racing deletes that prune the same folder', async () => {
    for (let i = 0; i < 40; i++) {
      await adapter.put(`race/${i}`, 'x');
      // the delete empties and prunes race~ while the next put is creating its file in it
      await Promise.all([adapter.delete(`race/${i}`), adapter.put(`race/${i + 1}`, 'y')]);
      await adapter.delete(`race/${i + 1}`);
    }
    expect((await adapter.list('race/')).items).toEqual([]);
  });

  it('refuses a segment too long for a file name, as an invalid key', async () => {
    await expect(adapter.put(`${'x'.repeat(201)}/y`, 'x')).rejects.toSatisfy(isInvalidKeyError);
    await expect(adapter.put(`${'x'.repeat(200)}/y`, 'x')).resolves.toMatchObject({ size: 1 });
  });

  it('ignores files it did not write when listing', async () => {
    await adapter.put('real', 'x');
    writeFileSync(join(root, 'stray~file'), 'x');
    writeFileSync(join(root, 'bad%zz'), 'x');
    writeFileSync(join(root, 'a%2Fb'), 'x');
    expect((await adapter.list()).items.map((i) => i.key)).toEqual(['real']);
  });

  it('rejects a cursor it did not issue', async () => {
    await expect(adapter.list('', { cursor: '!!not base64' })).rejects.toMatchObject({
      kind: 'invalid',
      field: 'cursor',
    });
  });

  it('reports a root that is not a folder as a provider failure', async () => {
    const file = join(base, `file-root-${n}`);
    writeFileSync(file, 'not a folder');
    const broken = new FsStorageAdapter({ root: file, provider: 'fs-broken' });
    const error = await broken.put('a', 'x').catch((e: unknown) => e);
    expect(isProviderError(error)).toBe(true);
    expect(error).toMatchObject({
      kind: 'permanent',
      scope: 'provider',
      provider: 'fs-broken',
      operation: 'put',
    });
    await expect(broken.list()).rejects.toMatchObject({ kind: 'permanent', scope: 'provider' });
  });

  it('needs a root', () => {
    expect(() => new FsStorageAdapter({ root: '' })).toThrow(TypeError);
  });
});

describe('mapFsError', () => {
  const map = (code: string) => mapFsError(Object.assign(new Error(code), { code }), 'fs', 'get');

  it('maps exhaustion and I/O errors to transient', () => {
    for (const code of ['EMFILE', 'ENFILE', 'EBUSY', 'EAGAIN', 'EIO']) {
      expect(map(code)).toMatchObject({ kind: 'transient', retryable: true, scope: 'provider' });
    }
  });

  it('maps permissions and a full disk to a provider-scoped permanent failure', () => {
    for (const code of ['EACCES', 'EPERM', 'ENOSPC', 'EROFS']) {
      expect(map(code)).toMatchObject({ kind: 'permanent', scope: 'provider', retryable: false });
    }
  });

  it('maps a name too long to invalid and a symbolic link to a refusal of the key', () => {
    expect(map('ENAMETOOLONG')).toMatchObject({ kind: 'invalid', field: 'key', scope: 'message' });
    expect(map('ELOOP')).toMatchObject({ kind: 'permanent', field: 'key', scope: 'message' });
  });

  it('keeps the code in the sanitized cause', () => {
    expect((map('EIO') as { cause: unknown }).cause).toMatchObject({ code: 'EIO' });
  });
});
