// Every job kind this service runs, each described in its folder's index.ts
// (src/kind-descriptor.ts says what a descriptor holds). Adding a kind is one
// line here; nothing else outside its folder names it.
import { budgetsKind } from './budgets/index.ts';
import { collectionsKind } from './collections/index.ts';
import { importsKind } from './imports/index.ts';
import type { KindDescriptor } from './kind-descriptor.ts';
import { portfoliosKind } from './portfolios/index.ts';

export const defaultKinds = [portfoliosKind, collectionsKind, importsKind, budgetsKind] as const satisfies readonly KindDescriptor<any>[];
