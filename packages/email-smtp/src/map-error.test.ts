import { describe, expect, it } from 'vitest';
import { mapSmtpError } from './map-error.js';

const map = (error: Record<string, unknown>) => {
  const e = mapSmtpError(Object.assign(new Error(String(error.message ?? 'x')), error), 'smtp', ['pa55word']);
  return { kind: e.kind, scope: e.scope, retryable: e.retryable };
};

describe('mapSmtpError', () => {
  it.each([
    [421, 'MAIL FROM'],
    [450, 'RCPT TO'],
    [451, 'DATA'],
    [452, 'RCPT TO'],
  ])('maps %i to %s as transient', (responseCode, command) => {
    expect(map({ code: 'EENVELOPE', responseCode, command })).toEqual({
      kind: 'transient',
      scope: 'provider',
      retryable: true,
    });
  });

  it('maps 454 (SES throttling) to throttled', () => {
    expect(map({ code: 'EENVELOPE', responseCode: 454, command: 'MAIL FROM' })).toMatchObject({
      kind: 'throttled',
      retryable: true,
    });
  });

  it('maps connection failures to transient, connection refused included', () => {
    expect(map({ code: 'ECONNECTION', command: 'CONN' }).kind).toBe('transient');
    expect(map({ code: 'ESOCKET', originalCode: 'ECONNREFUSED', command: 'CONN' }).kind).toBe('transient');
    expect(map({ code: 'EDNS', originalCode: 'ENOTFOUND' }).kind).toBe('transient');
  });

  it('maps a connection or greeting timeout to transient, a socket timeout to timeout', () => {
    expect(map({ code: 'ETIMEDOUT', timeoutType: 'GREETING_TIMEOUT', command: 'CONN' }).kind).toBe(
      'transient',
    );
    expect(map({ code: 'ETIMEDOUT', timeoutType: 'CONNECTION_TIMEOUT', command: 'CONN' }).kind).toBe(
      'transient',
    );
    expect(map({ code: 'ETIMEDOUT', timeoutType: 'SOCKET_TIMEOUT', command: 'CONN' })).toEqual({
      kind: 'timeout',
      scope: 'provider',
      retryable: true,
    });
  });

  it('maps 5xx recipient and content replies to permanent, message scope', () => {
    expect(map({ code: 'EENVELOPE', responseCode: 550, command: 'RCPT TO' })).toEqual({
      kind: 'permanent',
      scope: 'message',
      retryable: false,
    });
    expect(map({ code: 'EMESSAGE', responseCode: 552, command: 'DATA' }).scope).toBe('message');
    expect(map({ code: 'EMESSAGE', responseCode: 554, command: 'DATA' }).kind).toBe('permanent');
  });

  it('maps a 5xx to MAIL FROM (sender refused) to permanent, provider scope', () => {
    expect(map({ code: 'EENVELOPE', responseCode: 554, command: 'MAIL FROM' })).toEqual({
      kind: 'permanent',
      scope: 'provider',
      retryable: false,
    });
  });

  it('maps 503 (bad sequence) to transient, as nodemailer does', () => {
    expect(map({ code: 'EPROTOCOL', responseCode: 503, command: 'DATA' }).kind).toBe('transient');
  });

  it('maps EAUTH and 535 to auth', () => {
    expect(map({ code: 'EAUTH', responseCode: 535, command: 'AUTH PLAIN' })).toEqual({
      kind: 'auth',
      scope: 'provider',
      retryable: false,
    });
    expect(map({ code: 'ENOAUTH' }).kind).toBe('auth');
    expect(map({ code: 'EENVELOPE', responseCode: 530, command: 'MAIL FROM' }).kind).toBe('auth');
  });

  it('maps TLS certificate problems to permanent provider scope, other TLS failures to transient', () => {
    expect(map({ code: 'ETLS', originalCode: 'CERT_HAS_EXPIRED' })).toMatchObject({
      kind: 'permanent',
      scope: 'provider',
    });
    expect(map({ code: 'ETLS', originalCode: 'ECONNRESET' }).kind).toBe('transient');
  });

  it('maps an envelope refused before sending to invalid', () => {
    expect(map({ code: 'EENVELOPE', command: 'API' })).toMatchObject({ kind: 'invalid', retryable: false });
  });

  it('keeps the reply code as status and scrubs secrets from the message and cause', () => {
    const e = mapSmtpError(
      Object.assign(new Error('Invalid login: 535 bad pa55word'), { code: 'EAUTH', responseCode: 535 }),
      'smtp',
      ['pa55word'],
    );
    expect(e.status).toBe(535);
    expect(e.message).not.toContain('pa55word');
    expect(JSON.stringify(e)).not.toContain('pa55word');
    expect(e.cause).toMatchObject({ code: 'EAUTH' });
  });
});
