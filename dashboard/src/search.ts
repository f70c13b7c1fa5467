// The job list's search box: one line of terms, kept in the URL (?q=), read
// into the JobFilter's search fields (docs/finding-jobs.md#the-dashboard):
//   tag:customer:42   every job with this tag (several: all of them)
//   by:key:alice      created by this principal
//   meta.customer.id=acme   metadata contains {"customer":{"id":"acme"}}
//   payload.orderId=42      payload contains {"orderId":42} (a value is JSON when it parses, else a string)
//   error:"timed out"  or bare words: text in the error message
import type { JobFilter } from './operations.ts';

export type SearchFields = Pick<JobFilter, 'tags' | 'createdBy' | 'metadataContains' | 'payloadContains' | 'errorContains'>;

/** Words, a double-quoted part kept whole (error:"timed out", meta.note="a b"). */
function terms(text: string): string[] {
  return [...text.matchAll(/(?:[^\s"]+|"[^"]*")+/g)].map((match) => match[0].replace(/"/g, ''));
}

function valueOf(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Puts value at path (a.b.c) into object. */
function setPath(object: Record<string, unknown>, path: string[], value: unknown) {
  let node = object;
  path.slice(0, -1).forEach((key) => {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  });
  node[path.at(-1)!] = value;
}

export function parseSearch(text: string): { fields: SearchFields; error: string | null } {
  const fields: SearchFields = {};
  const words: string[] = [];
  for (const term of terms(text.trim())) {
    const json = /^(meta|payload)\.([^=]+)=(.*)$/.exec(term);
    if (json) {
      const path = json[2]!.split('.');
      if (path.some((key) => key === '')) return { fields, error: `"${term}": a key is empty` };
      const target = json[1] === 'meta' ? (fields.metadataContains ??= {}) : (fields.payloadContains ??= {});
      setPath(target, path, valueOf(json[3]!));
    } else if (term.startsWith('tag:')) (fields.tags ??= []).push(term.slice(4));
    else if (term.startsWith('by:')) (fields.createdBy ??= []).push(term.slice(3));
    else if (term.startsWith('error:')) words.push(term.slice(6));
    else words.push(term);
  }
  if (words.length) fields.errorContains = words.join(' ');
  return { fields, error: null };
}
