import { request } from './api.ts';
import { shortId } from './format.ts';
import { CancelJob, RetryJob, SignalJob } from './operations.ts';
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

/** Sends the signal a job waits for (an approval button: ctx.waitForSignal); false when it was refused. */
export async function sendSignal(id: string, name: string): Promise<boolean> {
  try {
    const data = await request<{ signalJob: ActionResult }>(SignalJob, { input: { id, name, data: { from: 'dashboard' } } });
    if (!data.signalJob.data) {
      notify(data.signalJob.message ?? `signal failed (${data.signalJob.__typename})`, 'error');
      return false;
    }
    notify(`Sent ${name} to job ${shortId(id)}`);
    return true;
  } catch (error) {
    notify((error as Error).message, 'error');
    return false;
  }
}
