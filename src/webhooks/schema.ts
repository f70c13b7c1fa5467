// The GraphQL of webhook subscriptions (docs/webhooks.md): the caller's
// tenant's own, as everywhere (admin manages its own tenant's too). Reading
// needs jobs:read and changing jobs:write, the root types' scopes: a
// subscription sends what jobs:read can read. A secret is answered once, by
// createWebhookSubscription; the URL reads back as its origin (its path may
// be a secret, as in webhook.send).
import { builder } from '../graphql/builder.ts';
import { ErrorInterface } from '../graphql/errors.ts';
import { JobStatusEnum } from '../graphql/jobs/schema-enums.ts';
import { ValidationError } from '../core/errors.ts';
import { ConnectionStorageUnavailableError } from '../connections/errors.ts';
import { WebhookDeliveryStatus } from '../generated/prisma/enums.ts';
import { redactUrl } from './send.ts';
import {
  createWebhookSubscription,
  deleteWebhookSubscription,
  listWebhookDeliveries,
  listWebhookSubscriptions,
  parseSubscriptionId,
  WebhookSubscriptionNotFoundError,
  type WebhookDelivery,
  type WebhookSubscription,
} from './subscriptions.ts';

builder.objectType(WebhookSubscriptionNotFoundError, {
  name: 'WebhookSubscriptionNotFoundError',
  description: "No webhook subscription of the caller's tenant has this id (another tenant's answers the same).",
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof WebhookSubscriptionNotFoundError,
  fields: (t) => ({ subscriptionId: t.exposeID('subscriptionId') }),
});

const WebhookDeliveryStatusEnum = builder.enumType(WebhookDeliveryStatus, {
  name: 'WebhookDeliveryStatus',
  description: 'PENDING: not yet answered 2xx, more attempts to come. DELIVERED: answered 2xx. FAILED: its last attempt failed, or its address was refused.',
});

const WebhookSubscriptionRef = builder.objectRef<WebhookSubscription>('WebhookSubscription').implement({
  description: "A URL that receives the job events it chose, signed with its secret (docs/webhooks.md). The secret is never readable back.",
  fields: (t) => ({
    id: t.exposeID('id', { description: 'A UUID.' }),
    url: t.string({ description: "The URL's origin; its path and query read as [redacted] (they may hold a secret).", resolve: (row) => String(redactUrl(row.url)) }),
    statuses: t.field({ type: [JobStatusEnum], description: 'The job statuses whose events are delivered.', resolve: (row) => row.statuses }),
    queueNames: t.stringList({ nullable: true, description: 'Only jobs of these queues (null: every queue).', resolve: (row) => row.queueNames }),
    jobTypes: t.stringList({ nullable: true, description: 'Only jobs of these types (null: every type).', resolve: (row) => row.jobTypes }),
    createdBy: t.exposeString('createdBy', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const WebhookDeliveryRef = builder.objectRef<WebhookDelivery>('WebhookDelivery').implement({
  description: 'One event sent to one subscription: its attempts and their last answer.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The webhook-id header of every attempt (receivers deduplicate by it).' }),
    eventType: t.exposeString('eventType', { description: 'The body\'s type: job.event.' }),
    jobId: t.exposeID('jobId', { nullable: true, description: 'The job of the event (a UUID).' }),
    status: t.field({ type: WebhookDeliveryStatusEnum, resolve: (row) => row.status }),
    attemptCount: t.exposeInt('attemptCount', { description: 'Attempts made (an attempt cut short by a process that stopped counts too).' }),
    nextAttemptAt: t.expose('nextAttemptAt', { type: 'DateTime', description: 'When a PENDING delivery is tried next.' }),
    responseStatus: t.exposeInt('responseStatus', { nullable: true, description: "The last attempt's HTTP status (null: no answer)." }),
    lastError: t.exposeString('lastError', { nullable: true, description: 'Why the last attempt failed (null once delivered).' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    deliveredAt: t.expose('deliveredAt', { type: 'DateTime', nullable: true }),
  }),
});

const CreateWebhookSubscriptionInput = builder.inputType('CreateWebhookSubscriptionInput', {
  fields: (t) => ({
    url: t.string({ required: true, description: 'http(s); refused when it is (or resolves to) a private, loopback or link-local address, unless the operator allows it (OUTBOUND_ALLOW_LIST).' }),
    statuses: t.field({ type: [JobStatusEnum], required: true, description: 'The job statuses whose events to deliver (at least one), e.g. [DEAD_LETTER].' }),
    queueNames: t.stringList({ required: false, description: 'Only jobs of these queues (default: every queue).' }),
    jobTypes: t.stringList({ required: false, description: 'Only jobs of these types (default: every type).' }),
  }),
});

const CreatedWebhookSubscription = builder
  .objectRef<{ subscription: WebhookSubscription; secret: string }>('CreatedWebhookSubscription')
  .implement({
    fields: (t) => ({
      subscription: t.field({ type: WebhookSubscriptionRef, resolve: (created) => created.subscription }),
      secret: t.exposeString('secret', {
        description: 'The signing secret (whsec_...), answered this once: keep it to verify the webhook-signature header (docs/webhooks.md).',
      }),
    }),
  });

builder.queryFields((t) => ({
  webhookSubscriptions: t.field({
    type: [WebhookSubscriptionRef],
    description: "The caller's tenant's webhook subscriptions, oldest first (never their secrets).",
    resolve: (_root, _args, ctx) => listWebhookSubscriptions(ctx.pool, ctx.caller.tenantId),
  }),
  webhookDeliveries: t.field({
    type: [WebhookDeliveryRef],
    description: "The newest deliveries of one of the caller's tenant's subscriptions (the delivery log), newest first.",
    errors: { types: [ValidationError, WebhookSubscriptionNotFoundError], directResult: false },
    args: {
      subscriptionId: t.arg.id({ required: true }),
      first: t.arg.int({ required: false, defaultValue: 50, description: '1-500.' }),
    },
    resolve: (_root, args, ctx) => {
      const first = args.first ?? 50;
      if (first < 1 || first > 500) throw new ValidationError('first', `must be 1-500 (got ${first})`);
      return listWebhookDeliveries(ctx.pool, ctx.caller.tenantId, parseSubscriptionId(args.subscriptionId, 'subscriptionId'), first);
    },
  }),
}));

builder.mutationFields((t) => ({
  createWebhookSubscription: t.field({
    type: CreatedWebhookSubscription,
    description:
      "Subscribes a URL to the caller's tenant's job events of the given statuses (optionally only some queues and job types), from now on. Answers the signing secret once.",
    errors: { types: [ValidationError, ConnectionStorageUnavailableError], directResult: false },
    args: { input: t.arg({ type: CreateWebhookSubscriptionInput, required: true }) },
    resolve: (_root, args, ctx) =>
      createWebhookSubscription(ctx.pool, ctx.providerConnections.keyring, ctx.caller, args.input, ctx.config.OUTBOUND_ALLOW_LIST),
  }),
  deleteWebhookSubscription: t.field({
    type: WebhookSubscriptionRef,
    description: 'Deletes a subscription with its delivery log; nothing more is sent to it. Answers it.',
    errors: { types: [ValidationError, WebhookSubscriptionNotFoundError], directResult: false },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => deleteWebhookSubscription(ctx.pool, ctx.caller.tenantId, parseSubscriptionId(args.id)),
  }),
}));
