// What the page shows when the API refuses it as a whole: with authentication
// on and no key, a form asking for one; with a refused or expired key, why,
// and the same form; with a 403 (origin, CSRF), the API's message.
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { getToken, setToken, watchAuthProblem, type AuthProblem } from '../api.ts';

const HEADING: Record<AuthProblem['kind'], string> = {
  'needs-key': 'This jobwire needs an API key',
  refused: 'The API key was refused',
  forbidden: 'The API refused this page (403)',
};

function KeyForm({ submitLabel }: { submitLabel: string }) {
  const [value, setValue] = useState('');
  return (
    <form
      class="key-form"
      onSubmit={(event) => {
        event.preventDefault();
        if (value.trim()) setToken(value.trim());
      }}
    >
      <label>
        <span>
          API key or JWT (sent as <code>Authorization: Bearer …</code>; kept in this tab only, until it closes)
        </span>
        <input type="password" name="apiKey" value={value} onInput={(event) => setValue(event.currentTarget.value)} autoComplete="off" autoFocus />
      </label>
      <div class="dialog-actions">
        {getToken() && (
          <button type="button" class="button ghost small" onClick={() => setToken('')}>
            Forget the key
          </button>
        )}
        <button type="submit" class="button primary small" disabled={!value.trim()}>
          {submitLabel}
        </button>
      </div>
    </form>
  );
}

/** Shows `children` unless the API refuses the page; then says why and, for a key problem, asks for a key. */
export function AuthGate({ children }: { children: ComponentChildren }) {
  const [problem, setProblem] = useState<AuthProblem | null>(null);
  useEffect(() => watchAuthProblem(setProblem), []);
  if (!problem) return <>{children}</>;
  return (
    <section class="card auth-gate" role="alert" data-auth-problem={problem.kind}>
      <h2>{HEADING[problem.kind]}</h2>
      <p class="auth-message">{problem.message}</p>
      {problem.kind === 'forbidden' ? (
        <p class="muted">Open the dashboard from the API's own address, or add this origin to CORS_ALLOWED_ORIGINS.</p>
      ) : (
        <>
          <p class="muted">
            Ask an operator for a key (<code>npx tsx src/main.ts keys create</code>) with the scope <code>jobs:read</code>, and <code>jobs:write</code> to
            cancel and retry. It sees its tenant's jobs only; <code>admin</code> sees every tenant's.
          </p>
          <KeyForm submitLabel={problem.kind === 'refused' ? 'Use this key instead' : 'Use this key'} />
        </>
      )}
    </section>
  );
}
