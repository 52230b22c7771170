import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import {
  type FileHandle,
  lstat,
  mkdir,
  open,
  readdir,
  readFile,
  realpath,
  rename,
  rmdir,
  unlink,
} from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { ProviderError } from '@tracks/breaker';
import { iterateBody, storedObject, toWebStream } from './body.js';
import type {
  CallOptions,
  ListOptions,
  ListResult,
  ObjectInfo,
  PutOptions,
  PutResult,
  StorageAdapter,
  StorageBody,
  StorageOperation,
  StoredObject,
} from './types.js';
import {
  compareKeys,
  InvalidKeyError,
  invalidInput,
  keyProblem,
  validateKey,
  validateListLimit,
  validatePrefix,
  validatePutOptions,
} from './validation.js';

/** Options of {@link FsStorageAdapter}. */
export interface FsStorageAdapterOptions {
  /** The folder that holds every object. Created on first use; no key can reach outside it. */
  root: string;
  /**
   * The provider name, used in errors and in the breaker's name (`storage:<provider>`).
   * @default 'fs'
   */
  provider?: string;
  /**
   * How many bytes a read of the body asks the file system for at a time.
   * @default 1048576 (1 MiB)
   */
  readChunkBytes?: number;
}

// The on-disk layout. Every key segment is escaped (`%`, `~` and the characters Windows refuses
// in names), so `~` never occurs in an escaped name — which frees it for our own names:
//   key `a/b/c.png` → <root>/a~/b~/c.png         data (its natural name)
//                   → <root>/a~/b~/c.png~meta.json sidecar: content type, metadata, etag
//                   → <root>/a~/b~/c.png~tmp-…     a write in progress
// Folders carry the `~` so that the keys `a` and `a/b` can both exist, as they can in S3; and no
// key maps to a sidecar, a temporary file or another key's folder.
const DIRECTORY_MARK = '~';
const SIDECAR_SUFFIX = '~meta.json';
const TEMP_MARK = '~tmp-';
const ESCAPED = /[%~:*?"<>|]/g;
// Most file systems cap a name at 255 bytes; leave room for the sidecar and temp suffixes.
const MAX_NAME_BYTES = 200;
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

interface Sidecar {
  /** The inode of the data file this sidecar describes (rename keeps it). */
  ino: number;
  size: number;
  etag: string;
  contentType: string;
  metadata: Record<string, string>;
}

/**
 * A {@link StorageAdapter} on a local folder, for development and tests. Writes are atomic (a
 * temporary file renamed into place), bodies stream in and out without being buffered, and no
 * key can escape the root: keys are validated, every segment is escaped, the parent folder's
 * real path is checked to lie inside the root's, and files are opened with `O_NOFOLLOW`.
 * It cannot sign URLs (there is no server to present them to), so `signedUrl` is absent.
 */
export class FsStorageAdapter implements StorageAdapter {
  /** The provider name. */
  readonly provider: string;
  readonly #root: string;
  readonly #readChunkBytes: number;
  #realRoot: Promise<string> | undefined;

  constructor(options: FsStorageAdapterOptions) {
    if (typeof options?.root !== 'string' || options.root.length === 0) {
      throw new TypeError('FsStorageAdapter: `root` must be a folder path');
    }
    this.#root = resolve(options.root);
    this.provider = options.provider ?? 'fs';
    this.#readChunkBytes = options.readChunkBytes ?? 1024 * 1024;
  }

  /** Writes the body to a temporary file beside the target, then renames it into place. */
  async put(key: string, body: StorageBody, options: PutOptions = {}): Promise<PutResult> {
    const context = { provider: this.provider, operation: 'put' } as const;
    validateKey(key, context);
    validatePutOptions(options, context);
    this.#checkNames(key, 'put');
    options.signal?.throwIfAborted();
    let temp: string | undefined;
    let tempSidecar: string | undefined;
    let handle: FileHandle | undefined;
    try {
      let directory = '';
      let name = '';
      for (let attempt = 1; handle === undefined; attempt++) {
        try {
          ({ directory, name } = (await this.#locate(key, 'put', true))!);
          const tag = randomBytes(6).toString('hex');
          temp = join(directory, `${name}${TEMP_MARK}${tag}`);
          tempSidecar = join(directory, `${name}${TEMP_MARK}${tag}.meta`);
          handle = await open(
            temp,
            constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW,
            0o644,
          );
        } catch (error) {
          // a delete of the folder's last object pruned it between our mkdir and this open
          if (!isCode(error, 'ENOENT') || attempt === 5) throw error;
          temp = tempSidecar = undefined;
        }
      }
      const hash = createHash('md5');
      let size = 0;
      for await (const chunk of iterateBody(body, options.signal)) {
        hash.update(chunk);
        size += chunk.byteLength;
        await writeAll(handle, chunk);
      }
      options.signal?.throwIfAborted();
      const { ino } = await handle.stat();
      await handle.close();
      handle = undefined;
      const sidecar: Sidecar = {
        ino,
        size,
        etag: hash.digest('hex'),
        contentType: options.contentType ?? DEFAULT_CONTENT_TYPE,
        metadata: { ...options.metadata },
      };
      await writeNew(tempSidecar!, JSON.stringify(sidecar));
      options.signal?.throwIfAborted();
      // Sidecar first: a reader that sees the new data file finds its sidecar already in
      // place, and one that sees the old data file notices the inode mismatch and reads again.
      await rename(tempSidecar!, join(directory, `${name}${SIDECAR_SUFFIX}`));
      await rename(temp!, join(directory, name));
      return { key, etag: sidecar.etag, size };
    } catch (error) {
      await handle?.close().catch(() => {});
      if (temp !== undefined) await unlink(temp).catch(() => {});
      if (tempSidecar !== undefined) await unlink(tempSidecar).catch(() => {});
      throw this.#map(error, 'put', options.signal);
    }
  }

  /** Opens the data file; the body streams from it, `readChunkBytes` at a time. */
  async get(key: string, options: CallOptions = {}): Promise<StoredObject | null> {
    validateKey(key, { provider: this.provider, operation: 'get' });
    this.#checkNames(key, 'get');
    options.signal?.throwIfAborted();
    try {
      const located = await this.#locate(key, 'get', false);
      if (located === null) return null;
      for (let attempt = 0; ; attempt++) {
        const handle = await openExisting(join(located.directory, located.name));
        if (handle === null) return null;
        try {
          const stats = await handle.stat();
          const sidecar = await readSidecar(located.directory, located.name);
          if (!stats.isFile()) {
            await handle.close();
            return null;
          }
          if (sidecar !== null && !describes(sidecar, stats) && attempt < 5) {
            // a put is between its two renames: read again
            await handle.close();
            continue;
          }
          options.signal?.throwIfAborted();
          const own = describes(sidecar, stats) ? sidecar : null;
          const stream = handle.createReadStream({
            highWaterMark: this.#readChunkBytes,
            ...(options.signal ? { signal: options.signal } : {}),
          });
          const body = toWebStream(stream);
          return storedObject(this.#info(key, stats.size, stats.mtime, own), body);
        } catch (error) {
          await handle.close().catch(() => {});
          throw error;
        }
      }
    } catch (error) {
      throw this.#map(error, 'get', options.signal);
    }
  }

  /** Stats the data file and reads its sidecar. */
  async head(key: string, options: CallOptions = {}): Promise<ObjectInfo | null> {
    validateKey(key, { provider: this.provider, operation: 'head' });
    this.#checkNames(key, 'head');
    options.signal?.throwIfAborted();
    try {
      const located = await this.#locate(key, 'head', false);
      if (located === null) return null;
      for (let attempt = 0; ; attempt++) {
        const handle = await openExisting(join(located.directory, located.name));
        if (handle === null) return null;
        try {
          const stats = await handle.stat();
          if (!stats.isFile()) return null;
          const sidecar = await readSidecar(located.directory, located.name);
          if (sidecar !== null && !describes(sidecar, stats) && attempt < 5) continue;
          options.signal?.throwIfAborted();
          // a sidecar still describing another version (writers racing) is not this file's
          return this.#info(key, stats.size, stats.mtime, describes(sidecar, stats) ? sidecar : null);
        } finally {
          await handle.close().catch(() => {});
        }
      }
    } catch (error) {
      throw this.#map(error, 'head', options.signal);
    }
  }

  /** Removes the data file, then its sidecar, then folders left empty. */
  async delete(key: string, options: CallOptions = {}): Promise<void> {
    validateKey(key, { provider: this.provider, operation: 'delete' });
    this.#checkNames(key, 'delete');
    options.signal?.throwIfAborted();
    try {
      const located = await this.#locate(key, 'delete', false);
      if (located === null) return;
      await unlink(join(located.directory, located.name)).catch(ignoreMissing);
      await unlink(join(located.directory, `${located.name}${SIDECAR_SUFFIX}`)).catch(ignoreMissing);
      await this.#pruneEmpty(located.directory, await this.#realRootPath());
    } catch (error) {
      throw this.#map(error, 'delete', options.signal);
    }
  }

  /**
   * Walks the folders in key order (a folder's entries sorted as their keys sort), skipping
   * subtrees before the cursor or outside the prefix, and stops one item past the page.
   * The cursor is the last key returned, base64url-encoded.
   */
  async list(prefix = '', options: ListOptions = {}): Promise<ListResult> {
    const context = { provider: this.provider, operation: 'list' } as const;
    validatePrefix(prefix, context);
    const limit = validateListLimit(options, context);
    const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor, context);
    options.signal?.throwIfAborted();
    try {
      const root = await this.#realRootPath();
      const items: ObjectInfo[] = [];
      let more = false;
      const walk = async (directory: string, keyPrefix: string): Promise<boolean> => {
        const entries = await readdir(directory, { withFileTypes: true }).catch((error: unknown) => {
          if (isCode(error, 'ENOENT') || isCode(error, 'ENOTDIR')) return [];
          throw error;
        });
        const children: { key: string; name: string; folder: boolean }[] = [];
        for (const entry of entries) {
          // symbolic links are never followed: nothing outside the root is listed
          if (entry.isDirectory() && entry.name.endsWith(DIRECTORY_MARK)) {
            const segment = unescapeSegment(entry.name.slice(0, -DIRECTORY_MARK.length));
            if (segment !== undefined)
              children.push({ key: `${keyPrefix}${segment}/`, name: entry.name, folder: true });
          } else if (entry.isFile() && !entry.name.includes('~')) {
            const segment = unescapeSegment(entry.name);
            if (segment !== undefined)
              children.push({ key: `${keyPrefix}${segment}`, name: entry.name, folder: false });
          }
        }
        children.sort((a, b) => compareKeys(a.key, b.key));
        for (const child of children) {
          options.signal?.throwIfAborted();
          const path = join(directory, child.name);
          if (child.folder) {
            const relevant = child.key.startsWith(prefix) || prefix.startsWith(child.key);
            const beforeCursor =
              after !== undefined && compareKeys(child.key, after) < 0 && !after.startsWith(child.key);
            if (!relevant || beforeCursor) continue;
            if (await walk(path, child.key)) return true;
          } else {
            if (!child.key.startsWith(prefix)) continue;
            if (after !== undefined && compareKeys(child.key, after) <= 0) continue;
            if (items.length === limit) {
              more = true;
              return true;
            }
            const stats = await lstat(path).catch(() => null);
            if (stats === null || !stats.isFile()) continue;
            const sidecar = await readSidecar(directory, child.name);
            const own = describes(sidecar, stats) ? sidecar : null;
            items.push(this.#info(child.key, stats.size, stats.mtime, own));
          }
        }
        return false;
      };
      const start = prefixDirectory(prefix);
      const directory = start.segments.length === 0 ? root : join(root, ...start.segments);
      // the folders a prefix names must not lead out of the root either (readdir follows links)
      if (directory !== root && (await realpath(directory).catch(() => directory)) !== directory) {
        throw this.#outside(prefix, 'list', 'prefix');
      }
      await walk(directory, start.keyPrefix);
      const last = items.at(-1);
      return more && last !== undefined ? { items, cursor: encodeCursor(last.key) } : { items };
    } catch (error) {
      throw this.#map(error, 'list', options.signal);
    }
  }

  #info(key: string, size: number, lastModified: Date, sidecar: Sidecar | null) {
    const info: ObjectInfo & { contentType: string; metadata: Record<string, string> } = {
      key,
      size,
      lastModified,
      contentType: sidecar?.contentType ?? DEFAULT_CONTENT_TYPE,
      metadata: { ...sidecar?.metadata },
    };
    if (sidecar !== null) info.etag = sidecar.etag;
    return info;
  }

  #checkNames(key: string, operation: StorageOperation): void {
    for (const segment of key.split('/')) {
      if (Buffer.byteLength(escapeSegment(segment)) > MAX_NAME_BYTES) {
        throw new InvalidKeyError(
          key,
          `a segment longer than ${MAX_NAME_BYTES} bytes does not fit a file name`,
          {
            provider: this.provider,
            operation,
          },
        );
      }
    }
  }

  #realRootPath(): Promise<string> {
    this.#realRoot ??= mkdir(this.#root, { recursive: true })
      .then(() => realpath(this.#root))
      .catch((error: unknown) => {
        this.#realRoot = undefined;
        throw error;
      });
    return this.#realRoot;
  }

  /**
   * The real folder that holds `key` and the data file's name. Creates the folders when
   * `create`; otherwise returns `null` when they do not exist. Refuses a folder whose real path
   * is outside the root (a symbolic link planted inside it).
   */
  async #locate(
    key: string,
    operation: StorageOperation,
    create: boolean,
  ): Promise<{ directory: string; name: string } | null> {
    const root = await this.#realRootPath();
    const segments = key.split('/');
    const name = escapeSegment(segments.pop()!);
    const lexical = join(root, ...segments.map((s) => `${escapeSegment(s)}${DIRECTORY_MARK}`));
    if (create) await mkdir(lexical, { recursive: true });
    let real: string;
    try {
      real = await realpath(lexical);
    } catch (error) {
      if (!create && (isCode(error, 'ENOENT') || isCode(error, 'ENOTDIR'))) return null;
      throw error;
    }
    if (real !== lexical || (real !== root && !real.startsWith(root + sep))) {
      throw this.#outside(key, operation, 'key');
    }
    return { directory: real, name };
  }

  #outside(key: string, operation: StorageOperation, field: 'key' | 'prefix'): ProviderError {
    return new ProviderError({
      kind: 'permanent',
      scope: 'message',
      provider: this.provider,
      operation,
      field,
      message: `${this.provider} ${operation} refused: ${field} ${JSON.stringify(key)} resolves outside the storage root through a symbolic link; not retried`,
    });
  }

  async #pruneEmpty(directory: string, root: string): Promise<void> {
    let current = directory;
    while (current !== root && current.startsWith(root + sep)) {
      try {
        await rmdir(current);
      } catch {
        return; // not empty (or already gone): the folders above are not empty either
      }
      current = dirname(current);
    }
  }

  #map(error: unknown, operation: StorageOperation, signal: AbortSignal | undefined): unknown {
    if (signal?.aborted) return signal.reason;
    return mapFsError(error, this.provider, operation);
  }
}

/**
 * Maps a file-system error onto the storage taxonomy: permissions and a full disk are the
 * store's problem (`permanent`, provider-scoped, so they count against the breaker and fail
 * over); descriptor exhaustion and I/O errors may clear (`transient`); a name too long is the
 * key's problem (`invalid`).
 */
export function mapFsError(error: unknown, provider: string, operation: StorageOperation): unknown {
  if (error instanceof ProviderError || (error as { name?: string })?.name === 'AbortError') return error;
  const code = (error as { code?: unknown })?.code;
  switch (code) {
    case 'ENAMETOOLONG':
      return invalidInput('key', 'too long for the file system', { provider, operation });
    case 'EMFILE':
    case 'ENFILE':
    case 'EBUSY':
    case 'EAGAIN':
    case 'EIO':
    case 'ETIMEDOUT':
      return new ProviderError({ kind: 'transient', provider, operation, cause: error });
    case 'ELOOP':
      return new ProviderError({
        kind: 'permanent',
        scope: 'message',
        provider,
        operation,
        field: 'key',
        cause: error,
        message: `${provider} ${operation} refused: the key names a symbolic link; not retried`,
      });
    default:
      return new ProviderError({ kind: 'permanent', scope: 'provider', provider, operation, cause: error });
  }
}

function escapeSegment(segment: string): string {
  return segment.replace(ESCAPED, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

// undefined for a name this adapter would not have written (placed there by hand)
function unescapeSegment(name: string): string | undefined {
  let segment: string;
  try {
    segment = decodeURIComponent(name);
  } catch {
    return undefined;
  }
  return escapeSegment(segment) === name && keyProblem(segment) === undefined ? segment : undefined;
}

// the folders a prefix fully names, and the key prefix those folders stand for
function prefixDirectory(prefix: string): { segments: string[]; keyPrefix: string } {
  const parts = prefix.split('/');
  parts.pop(); // the last part is incomplete (or '' after a trailing '/')
  return {
    segments: parts.map((s) => `${escapeSegment(s)}${DIRECTORY_MARK}`),
    keyPrefix: parts.length === 0 ? '' : `${parts.join('/')}/`,
  };
}

function encodeCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string, context: { provider: string; operation: 'list' }): string {
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  if (encodeCursor(key) !== cursor || key.length === 0) {
    throw invalidInput('cursor', 'must be a cursor returned by list', context);
  }
  return key;
}

// whether a sidecar is the one its put wrote beside this very file (same inode, same size)
function describes(sidecar: Sidecar | null, stats: { ino: number; size: number }): sidecar is Sidecar {
  return sidecar !== null && sidecar.ino === stats.ino && sidecar.size === stats.size;
}

async function openExisting(path: string): Promise<FileHandle | null> {
  try {
    // O_NONBLOCK: a FIFO planted under the root must not hang the open (it is then not a file)
    return await open(path, constants.O_RDONLY | O_NOFOLLOW | (constants.O_NONBLOCK ?? 0));
  } catch (error) {
    if (isCode(error, 'ENOENT') || isCode(error, 'ENOTDIR') || isCode(error, 'EISDIR')) return null;
    throw error;
  }
}

async function readSidecar(directory: string, name: string): Promise<Sidecar | null> {
  try {
    const handle = await open(join(directory, `${name}${SIDECAR_SUFFIX}`), constants.O_RDONLY | O_NOFOLLOW);
    try {
      return JSON.parse(await readFile(handle, 'utf8')) as Sidecar;
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (isCode(error, 'ENOENT') || error instanceof SyntaxError) return null;
    throw error;
  }
}

async function writeNew(path: string, text: string): Promise<void> {
  const handle = await open(
    path,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW,
    0o644,
  );
  try {
    await handle.writeFile(text, 'utf8');
  } finally {
    await handle.close();
  }
}

async function writeAll(handle: FileHandle, chunk: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < chunk.byteLength) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.byteLength - offset);
    offset += bytesWritten;
  }
}

function ignoreMissing(error: unknown): void {
  if (!isCode(error, 'ENOENT')) throw error;
}

function isCode(error: unknown, code: string): boolean {
  return (error as { code?: unknown } | null)?.code === code;
}
