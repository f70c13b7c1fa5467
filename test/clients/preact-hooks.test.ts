// @jobwire/react/preact in a real browser: the same page written with Preact
// (test/fixtures/preact-page: preact's render and the hooks on preact/hooks,
// no React in the bundle), in Debian's Chromium, with the viewer token that
// createJob answered with the job (test/support/live-page.ts).
import { livePageTest } from '../support/live-page.ts';

livePageTest('preact-page', { tokenFrom: 'createJob', withoutReact: true });
