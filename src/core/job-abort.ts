// A running job's abort switch (cancel, shutdown, lost). Its AbortSignal is
// made only when a handler asks for it: an AbortController and its signal cost
// more than a short job itself, and most short jobs never look at the signal.
export class JobAbort {
  #reason: string | undefined;
  #controller: AbortController | null = null;
  #listeners: Array<(reason: string) => void> = [];

  get aborted(): boolean {
    return this.#reason !== undefined;
  }

  /** Why it was aborted (CANCELLED_REASON, SHUTDOWN_REASON, LOST_REASON); undefined while it was not. */
  get reason(): string | undefined {
    return this.#reason;
  }

  /** The first reason wins; later calls change nothing. */
  abort(reason: string): void {
    if (this.#reason !== undefined) return;
    this.#reason = reason;
    this.#controller?.abort(reason);
    for (const listener of this.#listeners.splice(0)) listener(reason);
  }

  /** Called once, on abort. */
  onAbort(listener: (reason: string) => void): void {
    if (this.#reason === undefined) this.#listeners.push(listener);
  }

  /** For handlers: aborted with the same reason, also when it is made after the abort. */
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#reason !== undefined) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }
}
