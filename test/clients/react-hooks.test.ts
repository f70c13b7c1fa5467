// @jobwire/react (clients/react) in a real browser: a page built with the
// React hooks (test/fixtures/react-page), in Debian's Chromium, against the
// service with a viewer token from createViewerToken (test/support/live-page.ts).
import { livePageTest } from '../support/live-page.ts';

livePageTest('react-page', { tokenFrom: 'createViewerToken' });
