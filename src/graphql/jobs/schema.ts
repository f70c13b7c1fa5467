// The GraphQL surface of the core job model, one concern a file: types.ts (the
// Job interface and PlainJob, steps, events, queue stats, job types, job ids),
// filters.ts, queries.ts, mutations.ts, bulk.ts, subscriptions.ts and
// stream.ts (their pacing). Importing this file registers them all; kinds and
// flow use the types from here.
import { ErrorInterface } from '../errors.ts';
import './queries.ts';
import './mutations.ts';
import './bulk.ts';
import './subscriptions.ts';

export { JobEventRef, JobRef, parseJobId, QueueStatsRef, registerJobKindType, withId, type JobRow } from './types.ts';

void ErrorInterface;
