import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { STATUS_LABEL } from '../format.ts';
import type { JobStatus } from '../operations.ts';

export function StatusBadge({ status, cancelRequested }: { status: JobStatus; cancelRequested?: boolean }) {
  return (
    <span class={`badge status-${status.toLowerCase()}`} data-status={status}>
      {status === 'RUNNING' && <span class="pulse" />}
      {STATUS_LABEL[status]}
      {cancelRequested && status === 'RUNNING' ? ' · stopping' : ''}
    </span>
  );
}

const WAITING_LABEL: Record<string, string> = {
  NO_WORKER: 'waiting: no live worker serves its type',
  DEPENDENCIES: 'waiting: dependencies',
  QUEUE_PAUSED: 'waiting: queue paused',
  CONCURRENCY_LIMIT: 'waiting: concurrency limit',
  RATE_LIMIT: 'waiting: rate limit',
  TIMER: 'waiting: sleeping',
  EVENT: 'waiting: for an event',
  SIGNAL: 'waiting: for a signal',
  CHILDREN: 'waiting: for its child jobs',
};

/** Why a queued job does not run yet (Job.waitingReason), if anything holds it. */
export function WaitingBadge({ reason }: { reason: string | null | undefined }) {
  return reason ? (
    <span class="badge waiting" data-waiting={reason} title={reason}>
      {WAITING_LABEL[reason] ?? `waiting: ${reason}`}
    </span>
  ) : null;
}

export function ProgressBar({ value, status, label }: { value: number; status: JobStatus; label?: string | null }) {
  const shown = status === 'COMPLETED' ? 100 : Math.max(0, Math.min(100, value));
  return (
    <div class={`progress status-${status.toLowerCase()}`} role="progressbar" aria-valuenow={Math.round(shown)} aria-valuemin={0} aria-valuemax={100} title={label ?? undefined}>
      <div class="progress-fill" style={{ width: `${shown}%` }} />
      <span class="progress-text">{Math.round(shown)}%</span>
    </div>
  );
}

export function JsonView({ value, empty = 'none' }: { value: unknown; empty?: string }) {
  if (value === null || value === undefined || (typeof value === 'object' && Object.keys(value as object).length === 0)) {
    return <p class="muted">{empty}</p>;
  }
  return <pre class="json">{JSON.stringify(value, null, 2)}</pre>;
}

export function Card({ title, actions, children, class: className }: { title: ComponentChildren; actions?: ComponentChildren; children: ComponentChildren; class?: string }) {
  return (
    <section class={`card ${className ?? ''}`}>
      <header class="card-header">
        <h2>{title}</h2>
        {actions && <div class="card-actions">{actions}</div>}
      </header>
      <div class="card-body">{children}</div>
    </section>
  );
}

/** A modal dialog (the native <dialog>, so focus and Escape behave). */
export function Dialog({ title, children, onClose }: { title: string; children: ComponentChildren; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current!;
    dialog.showModal();
    const onCancel = (event: Event) => {
      event.preventDefault();
      onClose();
    };
    dialog.addEventListener('cancel', onCancel);
    return () => {
      dialog.removeEventListener('cancel', onCancel);
      dialog.close();
    };
  }, []);
  return (
    <dialog ref={ref} class="dialog" aria-label={title}>
      <h2>{title}</h2>
      {children}
    </dialog>
  );
}

export function ErrorNote({ message }: { message: string | null }) {
  return message ? (
    <p class="error-note" role="alert">
      {message}
    </p>
  ) : null;
}
