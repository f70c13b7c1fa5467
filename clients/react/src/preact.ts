// The same hooks for Preact, on preact/hooks (no preact/compat alias needed).
// The types are the package's: `declare module '@jobwire/react' { interface
// Register { ... } }` types these hooks too.
import { useEffect, useState } from 'preact/hooks';
import { makeHooks, type JobHooks } from './hooks.js';

export {
  createJobwireClient,
  watchJob,
  watchJobEvents,
  watchJobStream,
  type Job,
  type JobEvent,
  type JobResultsOf,
  type JobStreamChunk,
  type JobTypeName,
  type JobwireClientOptions,
  type Register,
} from './core.js';
export type { JobHooks, Live } from './hooks.js';

// Annotated, so the declarations keep the hooks' generic signatures (typed by Register where the app uses them).
const hooks: JobHooks = makeHooks({ useEffect, useState });
export const useJob: JobHooks['useJob'] = hooks.useJob;
export const useJobEvents: JobHooks['useJobEvents'] = hooks.useJobEvents;
export const useJobStream: JobHooks['useJobStream'] = hooks.useJobStream;
