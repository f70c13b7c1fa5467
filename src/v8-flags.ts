// V8 settings of the API process, applied before anything else loads (main.ts
// imports this module first).
//
// Allocation-site pretenuring off: when a thousand graphql-ws subscribers each
// receive an event, the fan-out's short-lived objects (execution contexts,
// promises, results) are all in flight when a scavenge runs, so V8 sees their
// allocation sites survive and starts allocating them straight in the old
// generation, where they pile up as garbage until the next full GC. Measured
// with 1,000 subscribers (bench:latency): peak RSS ~320-430 MB with
// pretenuring, ~240-260 MB without, and less CPU.
//
// WebAssembly at its baseline tier (Liftoff) only: the one sizeable module is
// Prisma's query compiler, which plans a query (a small part of its time next
// to the database round trip); optimising it in the background costs 11-15 MB
// of memory for no measurable gain per query.
import v8 from 'node:v8';

const command = process.argv.slice(2).find((arg) => !arg.startsWith('-')) ?? 'start';
if (command === 'serve' || command === 'start') {
  v8.setFlagsFromString('--no-allocation-site-pretenuring');
  v8.setFlagsFromString('--liftoff-only');
}
