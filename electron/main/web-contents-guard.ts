/**
 * What any web contents of the app may do beyond showing the dashboard: nothing. Applied from
 * `app.on('web-contents-created')`, so it covers every window, frame host and webview the app could
 * ever create, not only the main window (Electron's security checklist, items 12 to 14).
 *
 * Takes the WebContents as a parameter (types only from `electron`), so it is tested with a fake.
 */
import type { WebContents } from 'electron';

/**
 * Refuses navigation and redirects to anything `isAllowedUrl` does not accept, every new window
 * (`window.open`, `target=_blank`), and every `<webview>` (also off in webPreferences).
 */
export function guardWebContents(
  contents: WebContents,
  isAllowedUrl: (url: string) => boolean,
  log: (line: string) => void,
): void {
  const refuseOffApp =
    (name: string) =>
    (event: NavigationEvent): void => {
      if (isAllowedUrl(event.url)) return;
      event.preventDefault();
      log(`refused ${name} to ${event.url}`);
    };
  // A link, a form or `location = …` in the main frame.
  contents.on('will-navigate', refuseOffApp('will-navigate'));
  // The same in a subframe (the CSP already refuses to load frames; this refuses to move one).
  // It fires for the main frame too, which will-navigate has decided already.
  const refuseSubframeOffApp = refuseOffApp('will-frame-navigate');
  contents.on('will-frame-navigate', (event) => {
    if (!event.isMainFrame) refuseSubframeOffApp(event);
  });
  // A server-side redirect during a navigation: preventing it stops the whole navigation.
  contents.on('will-redirect', refuseOffApp('will-redirect'));
  contents.setWindowOpenHandler(({ url }) => {
    log(`refused a new window for ${url}`);
    return { action: 'deny' };
  });
  contents.on('will-attach-webview', (event) => {
    event.preventDefault();
    log('refused a <webview>');
  });
}

/** What the three navigation events pass first (their positional arguments are deprecated). */
export interface NavigationEvent {
  readonly url: string;
  preventDefault(): void;
}
