// GraphQL of the job-type registry: the jobTypes query (every type this API
// hosts or some worker registered, with the workers serving it) and the
// UnknownJobTypeError of createJob/createJobs.
import { builder } from '../builder.ts';
import { visibleTenant } from '../../auth/principal.ts';
import { ErrorInterface } from '../errors.ts';
import { JobKind } from '../../generated/prisma/enums.ts';
import { JobKindEnum } from '../jobs/schema-enums.ts';
import { UnknownJobTypeError } from '../../registry/errors.ts';
import { listRegisteredJobTypes, registrationOf, servingWorkers, workerVisibleTo, type JobTypeRegistration, type ServingWorker } from '../../registry/registry.ts';

builder.objectType(UnknownJobTypeError, {
  name: 'UnknownJobTypeError',
  description: 'No worker has registered this job type (and this API does not host it); `knownJobTypes` lists the types that exist.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof UnknownJobTypeError,
  fields: (t) => ({
    field: t.exposeString('field'),
    jobType: t.exposeString('jobType'),
    knownJobTypes: t.stringList({ resolve: (error) => [...error.knownJobTypes] }),
  }),
});

interface JobTypeView extends JobTypeRegistration {
  hosted: boolean;
  registeredAt: Date | null;
  updatedAt: Date | null;
  workers: ServingWorker[];
}

const JobTypeDefaultsRef = builder.objectRef<JobTypeRegistration['defaults']>('JobTypeDefaults').implement({
  description: "What a job of this type gets when its create input does not say.",
  fields: (t) => ({
    queueName: t.exposeString('queueName'),
    maxRetries: t.exposeInt('maxRetries'),
    priority: t.exposeInt('priority'),
    timeoutMs: t.exposeInt('timeoutMs', { nullable: true }),
    concurrencyLimit: t.exposeInt('concurrencyLimit', { nullable: true }),
  }),
});

const JobTypeWorkerRef = builder.objectRef<ServingWorker>('JobTypeWorker').implement({
  description: 'A worker process serving a job type.',
  fields: (t) => ({
    workerId: t.exposeString('workerId'),
    hostname: t.exposeString('hostname'),
    pid: t.exposeInt('pid'),
    queueNames: t.stringList({ nullable: true, description: 'The queues it takes jobs of this type from; null: every queue.', resolve: (w) => w.queueNames }),
    lastSeenAt: t.field({ type: 'DateTime', resolve: (w) => w.lastSeenAt }),
    live: t.exposeBoolean('live', {
      description: "Alive: an in-process worker's heartbeat is recent (within WORKER_DEAD_AFTER_MS), a remote worker's lease has not passed; a worker found dead leaves the list.",
    }),
    remote: t.exposeBoolean('remote', { description: 'A remote worker (the HTTP worker protocol), alive while its lease lasts.' }),
  }),
});

const JobTypeRef = builder.objectRef<JobTypeView>('JobType').implement({
  description: 'A job type: hosted by this API or registered by a worker, with the steps each of its jobs goes through and the workers serving it.',
  fields: (t) => ({
    jobType: t.exposeString('name'),
    description: t.exposeString('description'),
    kind: t.expose('kind', { type: JobKindEnum }),
    steps: t.stringList({ resolve: (type) => [...type.steps] }),
    payloadSchema: t.field({ type: 'JSON', description: 'The payload as JSON Schema (draft 2020-12), printed from its zod schema.', resolve: (type) => type.payloadSchema }),
    resultSchema: t.field({ type: 'JSON', nullable: true, description: "JobResult.resultData's shape, when the handler declares one.", resolve: (type) => type.resultSchema }),
    defaults: t.field({ type: JobTypeDefaultsRef, resolve: (type) => type.defaults }),
    hosted: t.exposeBoolean('hosted', { description: "This API process has the type's handler (it checks payloads with the handler's own schema)." }),
    registeredAt: t.field({ type: 'DateTime', nullable: true, description: 'When a worker first registered it; null if none has.', resolve: (type) => type.registeredAt }),
    updatedAt: t.field({ type: 'DateTime', nullable: true, description: 'When its registration last changed.', resolve: (type) => type.updatedAt }),
    workers: t.field({ type: [JobTypeWorkerRef], description: 'Workers serving it, live or not.', resolve: (type) => type.workers }),
    liveWorkerCount: t.int({ resolve: (type) => type.workers.filter((worker) => worker.live).length }),
  }),
});

builder.queryFields((t) => ({
  jobTypes: t.field({
    type: [JobTypeRef],
    description:
      "Every job type this API hosts or some worker registered, by name, with the workers serving it. A tenant sees the workers that may run its jobs (not another tenant's remote workers), and no type that only another tenant's workers serve.",
    resolve: async (_root, _args, ctx) => {
      const tenantId = visibleTenant(ctx.caller);
      const registered = new Map((await listRegisteredJobTypes(ctx.pool)).map((type) => [type.name, type]));
      const candidates = [...new Set([...ctx.registry.jobTypes, ...registered.keys()])].sort();
      const allWorkers = await servingWorkers(ctx.pool, candidates, ctx.config.WORKER_DEAD_AFTER_MS);
      const workers = new Map([...allWorkers].map(([name, serving]) => [name, serving.filter(workerVisibleTo(tenantId))]));
      // A type only another tenant's workers serve is theirs to see; one no worker serves any more stays listed (unserved).
      const names = candidates.filter((name) => ctx.registry.get(name) !== undefined || !allWorkers.has(name) || workers.get(name)!.length > 0);
      return names.map((name) => {
        const handler = ctx.registry.get(name);
        const stored = registered.get(name);
        const type = stored ?? registrationOf(handler!);
        return {
          ...type,
          kind: type.kind ?? JobKind.PLAIN,
          hosted: handler !== undefined,
          registeredAt: stored?.registeredAt ?? null,
          updatedAt: stored?.updatedAt ?? null,
          workers: workers.get(name) ?? [],
        };
      });
    },
  }),
}));
