// GraphiQL at /graphql: a small page whose assets (the bundle, its styles and
// its editor workers, from @graphql-yoga/render-graphiql, offline) are served
// as separate files, compressed once and cached by the browser for good (their
// URL carries the package's version). yoga's own renderer inlines all of them
// into one 9 MB page per view. The page opens on tabs of example operations.
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { GraphiQLOptions, Plugin } from 'graphql-yoga';

const require = createRequire(import.meta.url);
const VERSION: string = require('@graphql-yoga/render-graphiql/package.json').version;

export const GRAPHIQL_TITLE = 'jobwire GraphiQL';

const WELCOME = `# Welcome to jobwire: background jobs on Postgres with a live GraphQL API.
#
# Each tab holds an example: create a job here, list jobs in the next tab,
# and watch every job's status changes live in the third (open it first,
# then create jobs here). Run an operation with the ▶ button or Ctrl-Enter;
# the Docs button (top left) shows every type, query and mutation.
`;

/** The tabs a first visit opens on (GraphiQL keeps the user's tabs after that). */
export const EXAMPLE_TABS: NonNullable<GraphiQLOptions['defaultTabs']> = [
  {
    query: `${WELCOME}
# Create a job: system.sleep sleeps \`ms\` milliseconds and reports progress.
mutation CreateJob {
  createJob(input: { jobType: "system.sleep", payload: { ms: 5000 } }) {
    __typename
    ... on MutationCreateJobSuccess { data { id status } }
    ... on ValidationError { field message }
  }
}
`,
  },
  {
    query: `# The 20 newest jobs, with their status and progress.
# Filter with e.g. jobs(first: 20, filter: { statuses: [RUNNING, PENDING] }).
query ListJobs {
  jobs(first: 20) {
    edges { node { id jobType queueName status progress progressMessage createdAt } }
  }
}
`,
  },
  {
    query: `# Every job's status changes, live: run this, then create jobs in the first tab.
# Pass the cursor of the last event seen as \`after\` to resume without a gap.
subscription WatchJobEvents {
  jobEvents {
    status previousStatus message createdAt cursor
    job { id jobType queueName }
  }
}
`,
  },
];

interface Asset {
  file: string;
  type: string;
  /** The asset's content, from render-graphiql's bundle module (loaded on first use). */
  read(module: GraphiQLBundle): Buffer;
}

type GraphiQLBundle = typeof import('@graphql-yoga/render-graphiql/graphiql');

const ASSETS: Record<string, Asset> = {
  js: { file: 'graphiql.js', type: 'text/javascript; charset=utf-8', read: (m) => Buffer.from(m.js) },
  css: { file: 'graphiql.css', type: 'text/css; charset=utf-8', read: (m) => Buffer.from(m.css) },
  editorWorkerService: { file: 'editor.worker.js', type: 'text/javascript; charset=utf-8', read: (m) => Buffer.from(m.editorWorkerService) },
  json: { file: 'json.worker.js', type: 'text/javascript; charset=utf-8', read: (m) => Buffer.from(m.jsonWorker) },
  graphql: { file: 'graphql.worker.js', type: 'text/javascript; charset=utf-8', read: (m) => Buffer.from(m.graphqlWorker) },
  favicon: {
    file: 'favicon.ico',
    type: 'image/x-icon',
    read: (m) => Buffer.from(m.favicon.slice(m.favicon.indexOf(',') + 1), 'base64'),
  },
};

const gzip = promisify(zlib.gzip);
const brotli = promisify(zlib.brotliCompress);

type Encoding = 'br' | 'gzip' | 'identity';

/** Each asset in each encoding, made once per process, on first request. */
class AssetStore {
  #bundle: Promise<GraphiQLBundle> | null = null;
  readonly #bodies = new Map<string, Promise<Uint8Array<ArrayBuffer>>>();

  body(asset: Asset, encoding: Encoding): Promise<Uint8Array<ArrayBuffer>> {
    const key = `${asset.file}:${encoding}`;
    let body = this.#bodies.get(key);
    if (!body) {
      this.#bundle ??= import('@graphql-yoga/render-graphiql/graphiql');
      body = this.#bundle.then(async (bundle) => {
        const raw = asset.read(bundle);
        if (encoding === 'br') return new Uint8Array(await brotli(raw, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 9, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: raw.length } }));
        if (encoding === 'gzip') return new Uint8Array(await gzip(raw, { level: 9 }));
        return new Uint8Array(raw);
      });
      body.catch(() => this.#bodies.delete(key));
      this.#bodies.set(key, body);
    }
    return body;
  }
}

function preferredEncoding(acceptEncoding: string | null): Encoding {
  const accepted = (acceptEncoding ?? '').split(',').map((part) => part.trim().split(';')[0]);
  if (accepted.includes('br')) return 'br';
  if (accepted.includes('gzip')) return 'gzip';
  return 'identity';
}

/** Serves the assets under `<graphqlPath>/graphiql/<version>/`. */
export function graphiqlAssets(graphqlPath: string): { plugin: Plugin; render: (options: GraphiQLOptions) => string } {
  const base = `${graphqlPath}/graphiql/${VERSION}/`;
  const store = new AssetStore();
  const byPath = new Map(Object.values(ASSETS).map((asset) => [`${base}${asset.file}`, asset]));
  const url = (name: keyof typeof ASSETS) => `${base}${ASSETS[name]!.file}`;

  const plugin: Plugin = {
    onRequest({ request, url: requestUrl, fetchAPI, endResponse }) {
      if (!requestUrl.pathname.startsWith(base)) return;
      const asset = byPath.get(requestUrl.pathname);
      if (!asset || (request.method !== 'GET' && request.method !== 'HEAD')) {
        endResponse(new fetchAPI.Response('not found', { status: 404 }));
        return;
      }
      const encoding = preferredEncoding(request.headers.get('accept-encoding'));
      return store.body(asset, encoding).then((body) => {
        endResponse(
          new fetchAPI.Response(request.method === 'HEAD' ? null : body, {
            headers: {
              'content-type': asset.type,
              'content-length': String(body.length),
              // The URL changes with the package version: a browser never needs to ask again.
              'cache-control': 'public, max-age=31536000, immutable',
              vary: 'accept-encoding',
              ...(encoding === 'identity' ? {} : { 'content-encoding': encoding }),
            },
          }),
        );
      });
    },
  };

  const render = (options: GraphiQLOptions) => {
    const json = JSON.stringify(options).replaceAll('<', '\\u003c');
    return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>${escapeHtml(options.title ?? GRAPHIQL_TITLE)}</title>
    <link rel="icon" href="${url('favicon')}" />
    <link rel="stylesheet" href="${url('css')}" />
  </head>
  <body id="body" class="no-focus-outline">
    <noscript>GraphiQL needs JavaScript.</noscript>
    <div id="root"></div>
    <script src="${url('js')}"></script>
    <script>
      const workers = { editorWorkerService: ${JSON.stringify(url('editorWorkerService'))}, json: ${JSON.stringify(url('json'))}, graphql: ${JSON.stringify(url('graphql'))} };
      self.MonacoEnvironment = { globalAPI: false, getWorkerUrl: (_moduleId, label) => workers[label] };
      YogaGraphiQL.renderYogaGraphiQL(document.querySelector('#root'), ${json});
    </script>
  </body>
</html>
`;
  };
  return { plugin, render };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}
