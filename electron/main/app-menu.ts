/**
 * The application menu, as a template built from what main does on each item (no `electron` at run
 * time, so it is tested under Node: app-menu.test.ts). The Cluster menu changes the cluster this
 * instance runs (back to the start screen) and opens its data directory; the Edit menu is what makes
 * copy and paste work in the start screen's fields on macOS.
 */
import type { MenuItemConstructorOptions } from 'electron';

export interface AppMenuActions {
  /** Stop the replica and show the start screen. */
  readonly changeCluster: () => void;
  /** Open the running replica's data directory in the file manager. */
  readonly showDataDir: () => void;
}

export function appMenuTemplate(
  actions: AppMenuActions,
  state: { readonly running: boolean; readonly platform: NodeJS.Platform },
): MenuItemConstructorOptions[] {
  const mac = state.platform === 'darwin';
  return [
    ...(mac ? [{ role: 'appMenu' } as const] : [{ label: '&File', submenu: [{ role: 'quit' } as const] }]),
    { role: 'editMenu' },
    {
      label: '&Cluster',
      submenu: [
        {
          id: 'change-cluster',
          label: 'Change Cluster…',
          accelerator: 'CmdOrCtrl+Shift+K',
          enabled: state.running,
          click: () => actions.changeCluster(),
        },
        {
          id: 'show-data-dir',
          label: 'Show Data Directory',
          enabled: state.running,
          click: () => actions.showDataDir(),
        },
      ],
    },
    { role: 'viewMenu' },
    { role: 'windowMenu' },
  ];
}
