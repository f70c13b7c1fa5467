// tenantQuota: the caller's tenant's limits (docs/quotas.md) and its usage of
// them, read-only; the operator sets them with `jobwire tenants set-quota`.
import { builder } from '../builder.ts';
import { tenantQuota, type TenantQuota } from '../../jobs/tenant-quotas.ts';

const TenantQuotaRef = builder.objectRef<TenantQuota>('TenantQuota').implement({
  description: "The caller's tenant's limits, set by the operator (null: no limit), and what it uses of them now.",
  fields: (t) => ({
    maxQueuedJobs: t.exposeInt('maxQueuedJobs', { nullable: true, description: 'Most jobs PENDING, SCHEDULED or RETRYING at once; a create or retry past it is refused.' }),
    queuedJobCount: t.exposeInt('queuedJobCount', { description: "The tenant's jobs PENDING, SCHEDULED or RETRYING now (waiting ones included)." }),
    maxSchedules: t.exposeInt('maxSchedules', { nullable: true, description: 'Most schedules (paused ones included).' }),
    scheduleCount: t.exposeInt('scheduleCount', { description: "The tenant's schedules now." }),
    minCronIntervalSeconds: t.exposeInt('minCronIntervalSeconds', { nullable: true, description: "Shortest time between a schedule's ticks." }),
    minPriority: t.exposeInt('minPriority', { nullable: true, description: 'Lowest priority its jobs may have.' }),
    maxPriority: t.exposeInt('maxPriority', { nullable: true, description: 'Highest priority its jobs may have.' }),
  }),
});

builder.queryField('tenantQuota', (t) =>
  t.field({
    type: TenantQuotaRef,
    description: "The caller's tenant's limits and usage (an admin's: its own tenant's; the operator CLI shows every tenant's).",
    resolve: (_root, _args, ctx) => tenantQuota(ctx.pool, ctx.caller.tenantId),
  }),
);
