import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { StorageFaultKind } from '@tracks/storage/testing';

/** A running s3rver child process. */
export interface S3rver {
  endpoint: string;
  stop(): Promise<void>;
}

const childScript = fileURLToPath(new URL('../../test-support/s3rver-child.mjs', import.meta.url));

/**
 * Starts s3rver in a child process on 127.0.0.1, with OpenSSL's legacy provider: its
 * ListObjectsV2 continuation tokens are DES-encrypted, which OpenSSL 3 has only there.
 */
export async function startS3rver(buckets: readonly string[] = ['tracks']): Promise<S3rver> {
  const child: ChildProcess = spawn(process.execPath, ['--openssl-legacy-provider', childScript], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, S3RVER_BUCKETS: buckets.join(',') },
  });
  const port = await new Promise<number>((resolve, reject) => {
    let buffered = '';
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`s3rver exited with ${code} before listening`)));
    child.stdout!.on('data', (data: Buffer) => {
      buffered += data.toString();
      const newline = buffered.indexOf('\n');
      if (newline >= 0) resolve((JSON.parse(buffered.slice(0, newline)) as { port: number }).port);
    });
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.stdin!.end();
        // belt and braces: never leave it running
        setTimeout(() => child.kill('SIGKILL'), 2_000).unref();
      }),
  };
}

/** What the fault server answers with. */
export type FaultMode = StorageFaultKind | 'internal' | 'no-such-bucket' | 'signature' | 'ok-empty';

/** A node:http server that answers every request as an S3 endpoint in trouble would. */
export interface FaultServer {
  endpoint: string;
  mode: FaultMode;
  /** The requests it saw: method and URL. */
  requests: { method: string; url: string; authorization: string }[];
  close(): Promise<void>;
}

const XML_ERRORS: Record<string, { status: number; code: string; message: string }> = {
  throttled: { status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' },
  transient: {
    status: 500,
    code: 'InternalError',
    message: 'We encountered an internal error. Please try again.',
  },
  internal: { status: 502, code: 'BadGateway', message: 'Bad gateway' },
  auth: {
    status: 403,
    code: 'InvalidAccessKeyId',
    message: 'The AWS Access Key Id you provided does not exist.',
  },
  signature: {
    status: 403,
    code: 'SignatureDoesNotMatch',
    message: 'The request signature we calculated does not match the signature you provided.',
  },
  'no-such-bucket': { status: 404, code: 'NoSuchBucket', message: 'The specified bucket does not exist' },
};

/** Starts a fault server on 127.0.0.1 in `mode`; `server.mode` can be changed between calls. */
export async function startFaultServer(mode: FaultMode): Promise<FaultServer> {
  const hanging = new Set<ServerResponse>();
  const state: FaultServer = {
    endpoint: '',
    mode,
    requests: [],
    close: async () => {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    state.requests.push({
      method: request.method ?? '',
      url: request.url ?? '',
      authorization: String(request.headers.authorization ?? ''),
    });
    request.resume();
    if (state.mode === 'timeout') {
      hanging.add(response); // never answers
      return;
    }
    const error = XML_ERRORS[state.mode];
    if (error === undefined) {
      response.writeHead(200, { 'content-length': '0' }).end();
      return;
    }
    const body =
      request.method === 'HEAD'
        ? ''
        : `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${error.code}</Code><Message>${error.message}</Message><RequestId>fault-request-1</RequestId></Error>`;
    response.writeHead(error.status, {
      ...(state.mode === 'throttled' ? { 'retry-after': '2' } : {}),
      'content-type': 'application/xml',
      'content-length': String(Buffer.byteLength(body)),
      'x-amz-request-id': 'fault-request-1',
    });
    response.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}
