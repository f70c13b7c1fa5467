// Short notes after an action ("Cancelled job 1a2b3c4d"), gone after a few seconds.
import { useEffect, useState } from 'preact/hooks';

interface Toast {
  id: number;
  message: string;
  kind: 'ok' | 'error';
}

let nextId = 1;
const listeners = new Set<(toasts: Toast[]) => void>();
let toasts: Toast[] = [];

function publish(next: Toast[]) {
  toasts = next;
  listeners.forEach((listener) => listener(toasts));
}

export function notify(message: string, kind: 'ok' | 'error' = 'ok') {
  const toast = { id: nextId++, message, kind };
  publish([...toasts, toast]);
  setTimeout(() => publish(toasts.filter((t) => t !== toast)), kind === 'error' ? 8000 : 4000);
}

export function Toasts() {
  const [shown, setShown] = useState(toasts);
  useEffect(() => {
    listeners.add(setShown);
    return () => listeners.delete(setShown);
  }, []);
  return (
    <div class="toasts" aria-live="polite">
      {shown.map((toast) => (
        <div class={`toast ${toast.kind}`} key={toast.id} role={toast.kind === 'error' ? 'alert' : 'status'}>
          {toast.message}
        </div>
      ))}
    </div>
  );
}
