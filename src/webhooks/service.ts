// The webhook loop of a worker process: turns new job events into deliveries
// and sends the due ones (deliveries.ts), woken by the job event log's NOTIFY
// (jobwire_event) and every WEBHOOK_POLL_INTERVAL_MS (retries that came due,
// events that settled); evaluates the operator's alert rules (alerts.ts) every
// ALERT_EVALUATE_INTERVAL_MS. Passes never overlap in one process, and wakes
// that arrive during a pass make one more pass, not one each.
import type pg from 'pg';
import type { Config } from '../config.ts';
import type { ConnectionKeyring } from '../connections/encryption.ts';
import type { Listener } from '../db/listener.ts';
import type { Logger } from '../logger.ts';
import type { OutboundFetch } from '../net/outbound.ts';
import { alertRulesOf, anyAlertRule, evaluateAlerts } from './alerts.ts';
import { deliverDue, dispatchEvents, purgeDeliveries, type DeliverOptions } from './deliveries.ts';

const EVENT_CHANNEL = 'jobwire_event';
/** Wakes closer together than this are one pass: a burst of job events costs a few passes, not one each. */
const WAKE_COALESCE_MS = 20;
/** How often old deliveries are purged. */
const PURGE_INTERVAL_MS = 600_000;

export interface WebhookServiceOptions {
  pool: pg.Pool;
  listener: Listener;
  keyring: ConnectionKeyring;
  outbound: OutboundFetch;
  config: Config;
  logger: Logger;
}

export class WebhookService {
  readonly #options: WebhookServiceOptions;
  readonly #deliver: DeliverOptions;
  readonly #timers: NodeJS.Timeout[] = [];
  #wakeTimer: NodeJS.Timeout | null = null;
  #pass: Promise<void> | null = null;
  #again = false;
  #stopped = false;
  readonly #abort = new AbortController();

  constructor(options: WebhookServiceOptions) {
    this.#options = options;
    const { config } = options;
    this.#deliver = {
      pool: options.pool,
      keyring: options.keyring,
      outbound: options.outbound,
      maxAttempts: config.WEBHOOK_MAX_ATTEMPTS,
      retryBaseMs: config.WEBHOOK_RETRY_BASE_MS,
      timeoutMs: config.WEBHOOK_TIMEOUT_MS,
      operatorTarget: config.ALERT_WEBHOOK_URL && config.ALERT_WEBHOOK_SECRET ? { url: config.ALERT_WEBHOOK_URL, secret: config.ALERT_WEBHOOK_SECRET } : null,
      signal: this.#abort.signal,
    };
  }

  async start(): Promise<void> {
    const { listener, config } = this.#options;
    listener.on('notification', this.#onNotification);
    listener.on('reconnected', this.#wake);
    await listener.listen(EVENT_CHANNEL);
    this.#every(config.WEBHOOK_POLL_INTERVAL_MS, this.#wake);
    const rules = alertRulesOf(config);
    if (anyAlertRule(rules)) this.#every(config.ALERT_EVALUATE_INTERVAL_MS, () => this.#guarded('alert evaluation', () => this.evaluateAlerts()));
    this.#every(PURGE_INTERVAL_MS, () => this.#guarded('webhook delivery purge', () => purgeDeliveries(this.#options.pool, config.WEBHOOK_DELIVERY_RETENTION_DAYS)));
    this.#wake();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    const { listener } = this.#options;
    listener.off('notification', this.#onNotification);
    listener.off('reconnected', this.#wake);
    for (const timer of this.#timers) clearInterval(timer);
    if (this.#wakeTimer) clearTimeout(this.#wakeTimer);
    // Requests in flight end now, unrecorded: a stop does not wait for a slow receiver.
    this.#abort.abort();
    await this.#pass;
  }

  /** One evaluation of the alert rules now (the timer's; tests call it to evaluate at once). */
  async evaluateAlerts(now?: Date): Promise<void> {
    const changes = await evaluateAlerts(this.#options.pool, alertRulesOf(this.#options.config), now);
    for (const change of changes ?? []) this.#options.logger.warn(change, change.type === 'alert.fired' ? 'operator alert fired' : 'operator alert resolved');
    if (changes?.length) this.#wake();
  }

  #every(ms: number, fn: () => void) {
    const timer = setInterval(fn, ms);
    timer.unref();
    this.#timers.push(timer);
  }

  #onNotification = (channel: string) => {
    if (channel === EVENT_CHANNEL) this.#wake();
  };

  #wake = () => {
    if (this.#stopped) return;
    if (this.#pass) {
      this.#again = true;
      return;
    }
    if (this.#wakeTimer) return;
    this.#wakeTimer = setTimeout(() => {
      this.#wakeTimer = null;
      this.#pass = this.#run().finally(() => {
        this.#pass = null;
        if (this.#again) {
          this.#again = false;
          this.#wake();
        }
      });
    }, WAKE_COALESCE_MS);
    this.#wakeTimer.unref();
  };

  async #run(): Promise<void> {
    await this.#guarded('webhook dispatch', async () => {
      for (;;) {
        const pass = await dispatchEvents(this.#options.pool);
        if (!pass?.more || this.#stopped) break;
      }
    });
    if (!this.#stopped) await this.#guarded('webhook delivery', () => deliverDue(this.#deliver));
  }

  async #guarded(what: string, fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
    } catch (error) {
      if (!this.#stopped) this.#options.logger.error({ err: error }, `${what} failed (tried again at the next wake)`);
    }
  }
}
