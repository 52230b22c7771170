// The dashboard: no build step, no framework. Breaker cards follow GET /api/breakers and the
// server-sent events of GET /api/events; the forms call the JSON API.

const SPARK_LENGTH = 40;
const breakers = new Map(); // name -> view from /api/breakers, plus receivedAt
const outcomes = new Map(); // name -> recent outcomes, newest last
let info = { services: {}, inbox: false, faultsEnabled: false };

const $ = (selector, root = document) => root.querySelector(selector);

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (key === 'text') node.textContent = value;
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children) node.append(child);
  return node;
}

async function api(method, path, body, headers = {}) {
  const init = { method, headers: { ...headers } };
  if (body !== undefined) {
    if (typeof body === 'string' || body instanceof Blob || body instanceof ArrayBuffer) init.body = body;
    else {
      init.body = JSON.stringify(body);
      init.headers['content-type'] = 'application/json';
    }
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let json;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, ok: response.ok, json, retryAfter: response.headers.get('retry-after') };
}

// ---- breaker cards ------------------------------------------------------------------------

function stateLabel(state) {
  return state === 'half-open' ? 'half-open (probing)' : state;
}

function renderCards() {
  for (const card of document.querySelectorAll('.card')) {
    const service = card.dataset.service;
    const wired = info.services[service]?.wired;
    const container = $('[data-providers]', card);
    const views = [...breakers.values()].filter((b) => b.service === service);
    if (!wired && views.length === 0) {
      container.replaceChildren(el('p', { class: 'hint', text: 'not wired in this build' }));
      card.dataset.state = 'none';
      continue;
    }
    for (const view of views) renderProvider(container, view);
    const primary = views[0];
    if (primary) card.dataset.state = primary.state;
  }
}

function renderProvider(container, view) {
  const id = `breaker-${view.name.replace(/[^a-z0-9]/gi, '-')}`;
  let row = container.querySelector(`[data-breaker="${CSS.escape(view.name)}"]`);
  if (!row) {
    row = el(
      'div',
      { class: 'provider', 'data-breaker': view.name, id },
      el(
        'div',
        { class: 'provider-head' },
        el('span', { class: 'name', text: view.name }),
        el('span', { class: 'badge', 'data-badge': '' }),
      ),
      el('dl', { class: 'counts', 'data-counts': '' }),
      el('p', { class: 'countdown', 'data-countdown': '' }),
      el('canvas', { class: 'spark', width: 240, height: 36, role: 'img', 'data-spark': '' }),
    );
    container.append(row);
  }
  row.dataset.state = view.state;
  const badge = $('[data-badge]', row);
  badge.textContent = stateLabel(view.state);
  badge.className = `badge state-${view.state}`;
  const c = view.counts;
  $('[data-counts]', row).replaceChildren(
    ...[
      ['requests', c.requests],
      ['successes', c.totalSuccesses],
      ['failures', c.totalFailures],
      ['excluded', c.totalExclusions],
      ['streak', c.consecutiveFailures],
    ].flatMap(([label, value]) => [el('dt', { text: label }), el('dd', { text: String(value) })]),
  );
  renderCountdown(row, view);
  renderSpark(row, view.name);
}

function renderCountdown(row, view) {
  // countdownText: public/countdown.js
  $('[data-countdown]', row).textContent = countdownText(view, Date.now());
}

function renderSpark(row, name) {
  const canvas = $('[data-spark]', row);
  const list = outcomes.get(name) ?? [];
  const context = canvas.getContext('2d');
  const { width, height } = canvas;
  context.clearRect(0, 0, width, height);
  const bar = width / SPARK_LENGTH;
  list.forEach((outcome, index) => {
    const x = (SPARK_LENGTH - list.length + index) * bar;
    if (outcome === 'success') {
      context.fillStyle = '#1a7f37';
      context.fillRect(x + 1, 4, bar - 2, height / 2 - 4);
    } else if (outcome === 'failure') {
      context.fillStyle = '#cf222e';
      context.fillRect(x + 1, height / 2, bar - 2, height / 2 - 4);
    } else if (outcome === 'rejected') {
      context.fillStyle = '#6e7781';
      context.fillRect(x + 1, height / 2 - 2, bar - 2, 4);
    } else {
      context.fillStyle = '#9a6700';
      context.fillRect(x + 1, height / 2 - 6, bar - 2, 12);
    }
  });
  const tally = { success: 0, failure: 0, rejected: 0, excluded: 0 };
  for (const outcome of list) tally[outcome] += 1;
  canvas.setAttribute(
    'aria-label',
    `last ${list.length} calls: ${tally.success} succeeded, ${tally.failure} failed, ${tally.rejected} rejected, ${tally.excluded} excluded`,
  );
}

function setBreakers(list) {
  const receivedAt = Date.now();
  for (const view of list) breakers.set(view.name, { ...view, receivedAt });
  renderCards();
}

let refreshQueued = false;
function refreshBreakers() {
  if (refreshQueued) return;
  refreshQueued = true;
  setTimeout(async () => {
    refreshQueued = false;
    const response = await api('GET', '/api/breakers').catch(() => undefined);
    if (response?.ok) setBreakers(response.json);
  }, 150);
}

// ---- fault injection ------------------------------------------------------------------------

// `current`: GET /api/faults, so a reloaded page shows the faults still in force
function renderFaults(current = []) {
  for (const card of document.querySelectorAll('.card')) {
    const service = card.dataset.service;
    const container = $('[data-faults]', card);
    if (!info.services[service]?.wired) {
      container.replaceChildren();
      continue;
    }
    if (!info.faultsEnabled) {
      container.replaceChildren(el('p', { class: 'hint', text: 'fault injection is off in production' }));
      continue;
    }
    const prefix = `fault-${service}`;
    const rate = el('input', {
      id: `${prefix}-rate`,
      type: 'range',
      min: 0,
      max: 100,
      step: 5,
      value: 0,
      'aria-describedby': `${prefix}-rate-value`,
    });
    const rateValue = el('output', { id: `${prefix}-rate-value`, for: `${prefix}-rate`, text: '0 %' });
    const latency = el('input', {
      id: `${prefix}-latency`,
      type: 'range',
      min: 0,
      max: 3000,
      step: 100,
      value: 0,
      'aria-describedby': `${prefix}-latency-value`,
    });
    const latencyValue = el('output', {
      id: `${prefix}-latency-value`,
      for: `${prefix}-latency`,
      text: '0 ms',
    });
    const hang = el('input', { id: `${prefix}-hang`, type: 'checkbox' });
    const primary = info.services[service]?.providers?.[0];
    const active = current.find((f) => f.service === service && f.provider === primary);
    if (active) {
      rate.value = String(Math.round(active.failureRate * 100));
      latency.value = String(active.latencyMs);
      hang.checked = active.hang;
      rateValue.textContent = `${rate.value} %`;
      latencyValue.textContent = `${latency.value} ms`;
    }
    const clear = el('button', { type: 'button', id: `${prefix}-clear`, text: 'Clear faults' });
    const status = el('p', {
      class: 'result',
      role: 'status',
      'aria-live': 'polite',
      id: `${prefix}-status`,
    });
    const apply = async () => {
      rateValue.textContent = `${rate.value} %`;
      latencyValue.textContent = `${latency.value} ms`;
      const response = await api('POST', '/api/faults', {
        service,
        failureRate: Number(rate.value) / 100,
        latencyMs: Number(latency.value),
        hang: hang.checked,
      });
      status.textContent = response.ok
        ? `${response.json.service}:${response.json.provider}: ${Math.round(response.json.failureRate * 100)} % failures, ${response.json.latencyMs} ms latency${response.json.hang ? ', hanging' : ''}`
        : `faults not set: ${response.json?.error ?? response.status}`;
    };
    rate.addEventListener('input', () => {
      rateValue.textContent = `${rate.value} %`;
    });
    latency.addEventListener('input', () => {
      latencyValue.textContent = `${latency.value} ms`;
    });
    rate.addEventListener('change', apply);
    latency.addEventListener('change', apply);
    hang.addEventListener('change', apply);
    clear.addEventListener('click', () => {
      rate.value = '0';
      latency.value = '0';
      hang.checked = false;
      apply();
    });
    container.replaceChildren(
      el(
        'fieldset',
        {},
        el('legend', { text: 'Fault injection' }),
        el(
          'div',
          { class: 'slider' },
          el('label', { for: `${prefix}-rate`, text: 'Failure rate' }),
          rate,
          rateValue,
        ),
        el(
          'div',
          { class: 'slider' },
          el('label', { for: `${prefix}-latency`, text: 'Added latency' }),
          latency,
          latencyValue,
        ),
        el(
          'div',
          { class: 'check' },
          hang,
          el('label', { for: `${prefix}-hang`, text: 'Hang (never answer)' }),
        ),
        clear,
        status,
      ),
    );
  }
}

// ---- events -------------------------------------------------------------------------------

function connectEvents() {
  const live = $('#live');
  const source = new EventSource('/api/events');
  source.addEventListener('open', () => {
    live.textContent = 'live: following breaker events';
    live.dataset.connected = 'true';
  });
  source.addEventListener('error', () => {
    live.textContent = 'event stream disconnected; retrying…';
    live.dataset.connected = 'false';
  });
  source.addEventListener('breakers', (event) => setBreakers(JSON.parse(event.data)));
  source.addEventListener('state', (event) => {
    const change = JSON.parse(event.data);
    const view = breakers.get(change.name);
    if (view) view.state = change.to;
    renderCards();
    refreshBreakers();
  });
  source.addEventListener('call', (event) => {
    const call = JSON.parse(event.data);
    const list = outcomes.get(call.name) ?? [];
    list.push(call.outcome);
    if (list.length > SPARK_LENGTH) list.shift();
    outcomes.set(call.name, list);
    refreshBreakers();
  });
}

// ---- forms --------------------------------------------------------------------------------

function describe(response, success) {
  if (response.ok) return success(response.json);
  const wait = response.retryAfter ? ` (retry after ${response.retryAfter} s)` : '';
  const field = response.json?.field ? ` [${response.json.field}]` : '';
  return `${response.status}: ${response.json?.error ?? 'request failed'}${field}${wait}`;
}

function bindForm(id, resultId, submit) {
  const form = $(`#${id}`);
  const result = $(`#${resultId}`);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const button = $('button[type="submit"]', form);
    button.disabled = true;
    result.textContent = 'sending…';
    result.dataset.ok = '';
    try {
      const { response, text } = await submit(new FormData(form));
      result.textContent = text;
      result.dataset.ok = String(response.ok);
    } catch (error) {
      result.textContent = `failed: ${error.message}`;
      result.dataset.ok = 'false';
    } finally {
      button.disabled = false;
    }
  });
}

function bindForms() {
  bindForm('email-form', 'email-result', async (data) => {
    const response = await api('POST', '/api/email', {
      to: String(data.get('to')),
      subject: String(data.get('subject')),
      text: String(data.get('text')),
    });
    setTimeout(refreshInbox, 300);
    setTimeout(refreshOutbox, 100);
    return {
      response,
      text: describe(response, (json) =>
        json.queued
          ? `queued for delivery when the provider recovers: ${json.id}`
          : `accepted by ${json.provider}: ${json.messageId}`,
      ),
    };
  });
  bindForm('sms-form', 'sms-result', async (data) => {
    const response = await api('POST', '/api/sms', {
      to: String(data.get('to')),
      body: String(data.get('body')),
    });
    return {
      response,
      text: describe(
        response,
        (json) => `sent by ${json.provider} in ${json.segments} segment(s): ${json.messageId}`,
      ),
    };
  });
  bindForm('otp-form', 'otp-result', async (data) => {
    const response = await api('POST', '/api/otp', { phone: String(data.get('phone')) });
    return {
      response,
      text: describe(
        response,
        (json) =>
          `code sent by ${json.provider}${json.expiresAt ? `, valid until ${new Date(json.expiresAt).toLocaleTimeString()}` : ''}`,
      ),
    };
  });
  bindForm('verify-form', 'otp-result', async (data) => {
    const response = await api('POST', '/api/otp/verify', {
      phone: String($('#otp-phone').value),
      code: String(data.get('code')),
    });
    return {
      response,
      text: describe(response, (json) => (json.valid ? 'code valid' : `code not valid: ${json.reason}`)),
    };
  });
  bindForm('file-form', 'file-result', async (data) => {
    const key = String(data.get('key'));
    const file = data.get('file');
    const hasFile = file instanceof File && file.size > 0;
    const body = hasFile ? file : String(data.get('text'));
    const type = hasFile ? file.type || 'application/octet-stream' : 'text/plain; charset=utf-8';
    const path = `/api/files/${key.split('/').map(encodeURIComponent).join('/')}`;
    const response = await api('PUT', path, body, { 'content-type': type });
    return { response, text: describe(response, (json) => `stored ${json.key} (${json.size} bytes)`) };
  });
}

// ---- outbox -------------------------------------------------------------------------------

async function refreshOutbox() {
  const section = $('#outbox');
  if (!info.outbox) {
    $('#outbox-hint').textContent =
      'The outbox is off (EMAIL_QUEUE=off): an unavailable provider answers 503.';
    $('#outbox-stats').replaceChildren();
    $('#dead-empty').hidden = true;
    section.dataset.enabled = 'false';
    return;
  }
  section.dataset.enabled = 'true';
  $('#outbox-driver').textContent =
    info.outbox.driver === 'memory' ? '(memory: lost on restart)' : `(${info.outbox.driver})`;
  const response = await api('GET', '/api/outbox').catch(() => undefined);
  if (!response?.ok) return;
  const { stats, dead } = response.json;
  section.dataset.pending = String(stats.pending + stats.inflight);
  $('#outbox-stats').replaceChildren(
    ...[
      ['waiting', stats.pending],
      ['sending', stats.inflight],
      ['delivered', stats.delivered],
      ['dead', stats.dead],
    ].flatMap(([label, value]) => [el('dt', { text: label }), el('dd', { text: String(value) })]),
  );
  $('#dead-empty').hidden = dead.length > 0;
  $('#dead-letters').replaceChildren(
    ...dead.map((job) => {
      const retry = el('button', {
        type: 'button',
        text: 'Retry',
        'aria-label': `Retry dead letter ${job.id.slice(0, 8)}`,
      });
      retry.addEventListener('click', async () => {
        retry.disabled = true;
        const result = await api('POST', `/api/outbox/${encodeURIComponent(job.id)}/retry`);
        $('#outbox-result').textContent = result.ok
          ? `dead letter ${job.id.slice(0, 8)} sent again`
          : `retry refused: ${result.json?.error ?? result.status}`;
        refreshOutbox();
      });
      return el(
        'li',
        { class: 'dead', 'data-job': job.id },
        el('p', {
          class: 'meta',
          text: `${job.id.slice(0, 8)} · ${job.attempts} attempt(s) · ${job.deadReason ?? 'dead'} · ${new Date(job.updatedAt).toLocaleTimeString()}`,
        }),
        el('p', { class: 'body', text: job.lastError ?? '' }),
        retry,
      );
    }),
  );
}

// ---- inbox --------------------------------------------------------------------------------

async function refreshInbox() {
  if (!info.inbox) return;
  const response = await api('GET', '/api/inbox').catch(() => undefined);
  if (!response?.ok) return;
  const list = $('#inbox');
  $('#inbox-empty').hidden = response.json.length > 0;
  list.replaceChildren(
    ...response.json.slice(0, 20).map((mail) =>
      el(
        'li',
        { class: 'mail', 'data-message-id': mail.messageId ?? '' },
        el('p', { class: 'subject', text: mail.subject || '(no subject)' }),
        el('p', {
          class: 'meta',
          text: `from ${mail.from} to ${mail.to.join(', ')} · ${new Date(mail.receivedAt).toLocaleTimeString()}`,
        }),
        el('p', { class: 'body', text: (mail.text ?? '').slice(0, 300) }),
      ),
    ),
  );
}

// ---- start --------------------------------------------------------------------------------

async function start() {
  const response = await api('GET', '/api/info');
  if (response.ok) info = response.json;
  if (!info.inbox)
    $('#inbox-empty').textContent = 'The embedded SMTP sink is not running: email goes to a real provider.';
  const faults = info.faultsEnabled ? await api('GET', '/api/faults').catch(() => undefined) : undefined;
  renderFaults(faults?.ok ? faults.json : []);
  bindForms();
  connectEvents();
  refreshBreakers();
  refreshInbox();
  refreshOutbox();
  // open breakers turn half-open lazily: polling reads their state, and the countdown ticks
  setInterval(() => {
    for (const view of breakers.values()) {
      const row = document.querySelector(`[data-breaker="${CSS.escape(view.name)}"]`);
      if (row) renderCountdown(row, view);
    }
  }, 1000);
  setInterval(refreshBreakers, 2000);
  setInterval(refreshInbox, 3000);
  setInterval(refreshOutbox, 2000);
}

start();
