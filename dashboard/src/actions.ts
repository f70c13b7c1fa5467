import { request } from './api.ts';
import { shortId } from './format.ts';
import { CancelJob, RetryJob } from './operations.ts';
import { notify } from './toasts.tsx';

interface ActionResult {
  __typename: string;
  message?: string;
  data?: { id: string; status: string };
}

/** Cancels or retries one job and says what happened; false when it was refused. */
export async function runJobAction(action: 'cancel' | 'retry', id: string): Promise<boolean> {
  try {
    const data = await request<Record<string, ActionResult>>(action === 'cancel' ? CancelJob : RetryJob, { id });
    const result = data[action === 'cancel' ? 'cancelJob' : 'retryJob']!;
    if (!result.data) {
      notify(result.message ?? `${action} failed (${result.__typename})`, 'error');
      return false;
    }
    notify(
      action === 'cancel'
        ? result.data.status === 'CANCELLED'
          ? `Cancelled job ${shortId(id)}`
          : `Asked job ${shortId(id)} to stop`
        : `Retried job ${shortId(id)}: queued again`,
    );
    return true;
  } catch (error) {
    notify((error as Error).message, 'error');
    return false;
  }
}
