// Wake-ups for live readers of job rows (output streams, logs): one LISTEN and
// one listener per process and channel, however many subscribers; each
// notification's payload is the key of what changed (e.g. '<job id>:<stream>').
import type { Listener } from '../db/listener.ts';

class ChannelWatchers {
  readonly #watchers = new Map<string, Set<() => void>>();
  readonly #listening: Promise<void>;

  constructor(listener: Listener, channel: string) {
    listener.on('notification', (from, payload) => {
      if (from === channel) this.#watchers.get(payload)?.forEach((notify) => notify());
    });
    // Notifications sent while the LISTEN connection was down are lost: every reader reads again.
    listener.on('reconnected', () => this.#watchers.forEach((set) => set.forEach((notify) => notify())));
    this.#listening = listener.listen(channel);
  }

  /** Calls `notify` after each notification of `key`; resolves once listening (read after that: nothing falls between). */
  async watch(key: string, notify: () => void): Promise<() => void> {
    let set = this.#watchers.get(key);
    if (!set) this.#watchers.set(key, (set = new Set()));
    set.add(notify);
    const unwatch = () => {
      set.delete(notify);
      if (set.size === 0 && this.#watchers.get(key) === set) this.#watchers.delete(key);
    };
    try {
      await this.#listening;
    } catch (error) {
      unwatch();
      throw error;
    }
    return unwatch;
  }
}

const byListener = new WeakMap<Listener, Map<string, ChannelWatchers>>();

export function channelWatchers(listener: Listener, channel: string): ChannelWatchers {
  let channels = byListener.get(listener);
  if (!channels) byListener.set(listener, (channels = new Map()));
  let watchers = channels.get(channel);
  if (!watchers) channels.set(channel, (watchers = new ChannelWatchers(listener, channel)));
  return watchers;
}
