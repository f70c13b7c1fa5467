// Writes schema.graphql from the Pothos schema (sorted); then regenerates the
// typed operations. test/db/schema.test.ts fails when the committed file is stale.
import { writeFileSync } from 'node:fs';
import { printSortedSchema } from '../src/service-schema.ts';

writeFileSync('schema.graphql', printSortedSchema());
console.log('wrote schema.graphql');
