import { type EmailAdapter, failover, MemoryEmailAdapter, withResilience } from '@tracks/email';
import { queueWhenUnavailable } from '@tracks/outbox';
import type { EmailProviderName } from './config.js';
import { type EmailOutbox, wireOutbox } from './outbox-wiring.js';
import type { EmailService } from './services.js';
import type { WireContext, Wiring } from './wiring.js';

/**
 * The email family: the configured provider (and the optional fallback), each behind its
 * fault layer and its own `email:<provider>` breaker, composed with `failover`; unless
 * `EMAIL_QUEUE=off`, a send the providers cannot take now (an open breaker, a retryable failure)
 * is stored in the outbox and delivered when they recover.
 */
export async function wireEmail(
  context: WireContext,
  wiring: Wiring,
): Promise<{ service: EmailService; outbox: EmailOutbox | undefined }> {
  const { config } = context;
  const names: EmailProviderName[] = [config.email.provider];
  if (config.email.fallback !== undefined) names.push(config.email.fallback);
  const guarded = [];
  for (const [index, name] of names.entries()) {
    const adapter = await emailAdapter(name, context);
    wiring.closers.push(() => adapter.close?.());
    guarded.push(
      wiring.guard('email', adapter, withResilience, { operations: ['send'], primary: index === 0 }),
    );
  }
  const [first] = guarded;
  if (first === undefined) throw new Error('no email provider configured');
  const adapter: EmailAdapter = guarded.length > 1 ? failover(guarded, { strategy: 'fallback' }) : first;
  if (!config.outbox.enabled) {
    return {
      service: {
        send: (input, signal) =>
          adapter.send({ ...input, from: config.email.from }, signal === undefined ? undefined : { signal }),
      },
      outbox: undefined,
    };
  }
  const outbox = await wireOutbox(adapter, {
    config,
    now: context.now,
    log: context.log,
    ...(context.sqliteDriver !== undefined && { sqliteDriver: context.sqliteDriver }),
  });
  // the outbox's handler calls `adapter` itself, not this wrapper: a queued message is delivered,
  // never queued again
  const queueing = queueWhenUnavailable(adapter, outbox);
  return {
    service: {
      async send(input, signal) {
        const result = await queueing.send(
          { ...input, from: config.email.from },
          signal === undefined ? undefined : { signal },
        );
        if ('queued' in result) {
          context.log.info(
            { outboxJob: result.id, reason: summary(result.error) },
            'email queued: the provider cannot take it now',
          );
          return { queued: true, id: result.id };
        }
        return { provider: result.provider, messageId: result.messageId };
      },
    },
    outbox,
  };
}

function summary(error: unknown): string {
  return error instanceof Error ? (error.message.split('\n')[0]?.slice(0, 200) ?? error.name) : String(error);
}

// Adapter packages are imported only for the provider in use: the AWS SDK stays unloaded
// unless SES is configured.
async function emailAdapter(name: EmailProviderName, context: WireContext): Promise<EmailAdapter> {
  const { config, smtpSink } = context;
  switch (name) {
    case 'smtp': {
      const { SmtpEmailAdapter } = await import('@tracks/email-smtp');
      const smtp = config.email.smtp;
      if (smtp.host === undefined) {
        if (smtpSink === undefined) throw new Error('the embedded SMTP sink is not running');
        return new SmtpEmailAdapter({
          host: smtpSink.host,
          port: smtpSink.port,
          secure: false,
          ignoreTLS: true,
        });
      }
      return new SmtpEmailAdapter({
        host: smtp.host,
        port: smtp.port,
        secure: smtp.secure,
        ...(smtp.user !== undefined && { auth: { user: smtp.user, pass: smtp.password ?? '' } }),
      });
    }
    case 'ses': {
      const { SesEmailAdapter } = await import('@tracks/email-ses');
      return new SesEmailAdapter({
        ...(config.awsRegion !== undefined && { region: config.awsRegion }),
        requestTimeoutMs: config.providerTimeoutMs,
      });
    }
    case 'sendgrid': {
      const { SendGridEmailAdapter } = await import('@tracks/email-sendgrid');
      return new SendGridEmailAdapter({
        ...(config.email.sendgridApiKey !== undefined && { apiKey: config.email.sendgridApiKey }),
        requestTimeoutMs: config.providerTimeoutMs,
      });
    }
    case 'memory':
      return new MemoryEmailAdapter();
  }
}
