import { type EmailAdapter, failover, MemoryEmailAdapter, withResilience } from '@tracks/email';
import type { EmailProviderName } from './config.js';
import type { EmailService } from './services.js';
import type { WireContext, Wiring } from './wiring.js';

/**
 * The email family: the configured provider (and the optional fallback), each behind its
 * fault layer and its own `email:<provider>` breaker, composed with `failover`.
 */
export async function wireEmail(context: WireContext, wiring: Wiring): Promise<EmailService> {
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
  return {
    send: (input, signal) =>
      adapter.send({ ...input, from: config.email.from }, signal === undefined ? undefined : { signal }),
  };
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
