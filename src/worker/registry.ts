import type { JobHandler } from './handler.ts';

const JOB_TYPE_FORMAT = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/;

/** Job types and their handlers. The API validates against it; workers run from it. */
export class HandlerRegistry {
  readonly #handlers = new Map<string, JobHandler<any>>();

  register<Payload>(handler: JobHandler<Payload>): this {
    if (!JOB_TYPE_FORMAT.test(handler.jobType)) {
      throw new Error(`job type "${handler.jobType}" must be dotted lower-case words, e.g. webhook.send`);
    }
    // Its queue entries' task is job:<jobType>:<queue>, at most 128 characters (graphile-worker's bound).
    if (handler.jobType.length > 59) {
      throw new Error(`job type "${handler.jobType}" must be at most 59 characters (it has ${handler.jobType.length})`);
    }
    if (this.#handlers.has(handler.jobType)) {
      throw new Error(`job type "${handler.jobType}" is registered twice`);
    }
    this.#handlers.set(handler.jobType, handler);
    return this;
  }

  get(jobType: string): JobHandler<any> | undefined {
    return this.#handlers.get(jobType);
  }

  /** The payload of a job of this type as readers see it (JobHandler.redactPayload). */
  readablePayload(jobType: string, payload: Record<string, unknown>): Record<string, unknown> {
    const redact = this.#handlers.get(jobType)?.redactPayload;
    return redact ? redact(payload) : payload;
  }

  get jobTypes(): string[] {
    return [...this.#handlers.keys()].sort();
  }
}
