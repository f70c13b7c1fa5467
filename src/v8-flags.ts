// V8 settings of the API and worker processes, applied before anything else
// loads (main.ts imports this module first).
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
//
// A worker (`work`) lets its heap grow to 1.5 times what the last full GC left
// live instead of V8's default (up to 4 times on a fast machine). An import
// keeps ~45 MB live but churns through parsed rows, trigrams and statement
// results, so by default the heap reached ~160 MB before each full GC:
// bench:imports' worker peaked at 218-310 MB of RSS across runs; with 1.5,
// 201-205 MB in four runs at the same rows per second.
//
// The API (`serve`, and `start`, which also runs it) lets its heap grow to
// 1.2 times what the last full GC left live. Under a steady createJob load
// (bench:api) V8's default let the old generation reach 4 times the ~60 MB
// live before collecting it: 353 MB of RSS at its peak in a 60 s load, ~170 MB
// of it promoted garbage. With the causes of most of that garbage gone (see
// http/yoga.ts and graphql/context.ts) little is promoted: a full GC every
// 22-28 s at ~200 creates a second, and the peak is the live heap, the young
// generation (32 MB) and Node itself, ~184 MB (docs/performance.md#memory).
import v8 from 'node:v8';

const command = process.argv.slice(2).find((arg) => !arg.startsWith('-')) ?? 'start';
if (command === 'serve' || command === 'start') {
  v8.setFlagsFromString('--no-allocation-site-pretenuring');
  v8.setFlagsFromString('--liftoff-only');
  v8.setFlagsFromString('--heap-growing-percent=20');
}
if (command === 'work') v8.setFlagsFromString('--heap-growing-percent=50');
