// Processes started at the same moment on an empty database all come up: they
// migrate one after the other (the later ones find the schema current).
import { afterEach, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { READY, spawnCli, type CliProcess } from './support/cli.ts';

const ROUNDS = 10;
const COMMANDS = ['serve', 'work', 'work'] as const;

let running: CliProcess[] = [];
let databases: TestDatabase[] = [];
afterEach(async () => {
  await Promise.all(running.map((child) => child.stop()));
  await Promise.all(databases.map((db) => db.drop()));
  running = [];
  databases = [];
});

it(`serve and two workers started together on an empty database all come up, ${ROUNDS} times`, { timeout: 600_000 }, async () => {
  for (let round = 1; round <= ROUNDS; round++) {
    const db = await createTestDatabase({ empty: true });
    databases.push(db);
    const children = COMMANDS.map((command) => spawnCli([command], { DATABASE_URL: db.url }));
    running.push(...children);
    const ready = await Promise.allSettled(children.map((child, index) => child.waitForLog(`${COMMANDS[index]} to be up`, READY[COMMANDS[index]])));
    const failures = ready.flatMap((outcome, index) =>
      outcome.status === 'rejected' ? [`round ${round}, ${COMMANDS[index]}: ${String(outcome.reason)}`] : [],
    );
    expect(failures).toEqual([]);
    await Promise.all(children.map((child) => child.stop()));
    running = [];
    await db.drop();
    databases = [];
  }
});
