/** The application menu: the Cluster menu's items, the Edit menu (copy and paste), per platform. */
import { describe, expect, it, vi } from 'vitest';
import type { MenuItemConstructorOptions } from 'electron';
import { appMenuTemplate } from './app-menu.ts';

function item(template: MenuItemConstructorOptions[], id: string): MenuItemConstructorOptions | undefined {
  for (const entry of template) {
    if (entry.id === id) return entry;
    const found = Array.isArray(entry.submenu) ? item(entry.submenu, id) : undefined;
    if (found) return found;
  }
  return undefined;
}

describe('appMenuTemplate', () => {
  const actions = () => ({ changeCluster: vi.fn(), showDataDir: vi.fn() });

  it('has an Edit menu (copy and paste in the start screen’s fields) and a Cluster menu, on every platform', () => {
    for (const platform of ['darwin', 'win32', 'linux'] as const) {
      const template = appMenuTemplate(actions(), { running: true, platform });
      expect(template.map((t) => t.role ?? t.label)).toEqual([
        platform === 'darwin' ? 'appMenu' : '&File',
        'editMenu',
        '&Cluster',
        'viewMenu',
        'windowMenu',
      ]);
    }
  });

  it('changes the cluster and shows the data directory while a replica runs; disabled on the start screen', () => {
    const a = actions();
    const running = appMenuTemplate(a, { running: true, platform: 'linux' });
    (item(running, 'change-cluster')!.click as () => void)();
    (item(running, 'show-data-dir')!.click as () => void)();
    expect(a.changeCluster).toHaveBeenCalledOnce();
    expect(a.showDataDir).toHaveBeenCalledOnce();
    const choosing = appMenuTemplate(a, { running: false, platform: 'linux' });
    expect(item(choosing, 'change-cluster')!.enabled).toBe(false);
    expect(item(choosing, 'show-data-dir')!.enabled).toBe(false);
  });
});
