// What the dashboard reads: jobs finished per minute, and every queue's stats, live.
import { beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { createJob } from '../support/jobs.ts';
import { JobUpdated } from '../support/operations.ts';
import { JobThroughput, QueuesUpdated } from '../support/operations-dashboard.ts';

let db: TestDatabase;
let api: TestApp;

beforeAll(async () => {
  db = await createTestDatabase();
  api = await startTestApp(db.url);
});

async function finished(id: string, ...statuses: string[]) {
  const updates = api.client.subscribe(JobUpdated, { id });
  await updates.waitFor(statuses.join(' or '), (r) => r.some((u) => statuses.includes(u.jobUpdated.status)));
  updates.close();
}

describe('jobThroughput', () => {
  it('counts jobs completed and failed per minute, oldest first, with empty minutes as zeros', async () => {
    const before = await api.client.request(JobThroughput, { minutes: 60 });
    expect(before.jobThroughput).toHaveLength(60);
    expect(before.jobThroughput.every((m) => m.completedCount === 0 && m.failedCount === 0)).toBe(true);
    const minutes = before.jobThroughput.map((m) => Date.parse(m.minute));
    expect(minutes.every((minute, i) => i === 0 || minute - minutes[i - 1]! === 60_000)).toBe(true);

    const done = await createJob(api.client, { jobType: 'system.noop' });
    const failing = await createJob(api.client, { jobType: 'webhook.send', maxRetries: 0, payload: { url: 'http://127.0.0.1:9/', timeoutMs: 1000 } });
    await finished(done.id, 'COMPLETED');
    // The outbound guard refuses a loopback address: FAILED at once (DEAD_LETTER without it).
    await finished(failing.id, 'FAILED', 'DEAD_LETTER');

    const after = await api.client.request(JobThroughput, { minutes: 5 });
    expect(after.jobThroughput).toHaveLength(5);
    const total = (key: 'completedCount' | 'failedCount') => after.jobThroughput.reduce((sum, m) => sum + m[key], 0);
    expect({ completed: total('completedCount'), failed: total('failedCount') }).toEqual({ completed: 1, failed: 1 });
  });

  it('refuses a window outside 1..1440 minutes, naming the bound', async () => {
    await expect(api.client.request(JobThroughput, { minutes: 1441 })).rejects.toThrow('minutes: must be between 1 and 1440, got 1441');
  });
});

describe('queuesUpdated', () => {
  it("sends every queue's stats at once, then again as jobs change", async () => {
    const updates = api.client.subscribe(QueuesUpdated);
    await updates.waitFor('the current stats', (r) => r.length > 0);
    await createJob(api.client, { jobType: 'system.noop', queueName: 'live-stats' });
    await updates.waitFor('the new job completed in its queue', (r) =>
      r.some((u) => u.queuesUpdated.some((q) => q.queueName === 'live-stats' && q.completedCount === 1)),
    );
    expect(updates.received.at(-1)!.queuesUpdated.find((q) => q.queueName === 'live-stats')).toMatchObject({ pendingCount: 0, completedCount: 1 });
    updates.close();
  });
});
