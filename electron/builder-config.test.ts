/**
 * Checks electron-builder.yml without packaging (packaging downloads the Electron binary):
 * electron-builder's own loader and schema validation, the fields the lab relies on (fuses, the
 * macOS local-network keys, the NSIS firewall rule, the Linux packages), the icons, and what the
 * packaged app's package.json says (its name, and no renderer packages among its dependencies).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getConfig, validateConfiguration } from 'app-builder-lib/out/util/config/config.js';
import { DebugLogger } from 'builder-util';
import type { Configuration } from 'electron-builder';
import { BEACON_SERVICE } from '../core/net/cluster-beacon.ts';
import { DEFAULT_MDNS_SERVICE_TAG } from '../core/net/node.ts';
import { beforeAll, describe, expect, it } from 'vitest';

const projectDir = join(import.meta.dirname, '..');
const packageJson = JSON.parse(readFileSync(join(projectDir, 'package.json'), 'utf8')) as {
  main: string;
  productName: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const MAKENSIS = '/usr/bin/makensis';

const pngSignature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Width and height from a PNG's IHDR chunk; throws if `bytes` is not a PNG. */
function pngSize(bytes: Buffer): { width: number; height: number } {
  if (!bytes.subarray(0, 8).equals(pngSignature)) throw new Error('not a PNG: bad signature');
  if (bytes.toString('ascii', 12, 16) !== 'IHDR') throw new Error('not a PNG: IHDR is not the first chunk');
  if (bytes.toString('ascii', bytes.length - 8, bytes.length - 4) !== 'IEND') throw new Error('PNG does not end');
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

/** The images of a Windows .ico: declared size and the PNG data of each. */
function icoImages(bytes: Buffer): { size: number; data: Buffer }[] {
  if (bytes.readUInt16LE(0) !== 0 || bytes.readUInt16LE(2) !== 1) throw new Error('not an .ico');
  return Array.from({ length: bytes.readUInt16LE(4) }, (_, i) => {
    const entry = 6 + 16 * i;
    const offset = bytes.readUInt32LE(entry + 12);
    return {
      size: bytes.readUInt8(entry) || 256,
      data: bytes.subarray(offset, offset + bytes.readUInt32LE(entry + 8)),
    };
  });
}

function targetNames(target: unknown): string[] {
  const targets = Array.isArray(target) ? target : [target];
  return targets.map((t: unknown) => (typeof t === 'string' ? t : (t as { target: string }).target));
}

describe('electron-builder.yml', () => {
  let config: Configuration;

  beforeAll(async () => {
    // The same lookup electron-builder does: electron-builder.yml in the project directory.
    config = await getConfig(projectDir, null, null);
  });

  it('passes electron-builder’s schema validation', async () => {
    await expect(validateConfiguration(config, new DebugLogger(false))).resolves.toBeUndefined();
  });

  it('is rejected by the same validation when broken (the check is live)', async () => {
    const broken = { ...config, linux: { ...config.linux, notAnOption: true } } as Configuration;
    await expect(validateConfiguration(broken, new DebugLogger(false))).rejects.toThrow(/configuration\.linux/);
  });

  it('flips the Electron fuses that close the ways into the packaged app', () => {
    expect(config.electronFuses).toEqual({
      // No ELECTRON_RUN_AS_NODE, NODE_OPTIONS, --inspect: the binary cannot be made a plain Node.
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableCookieEncryption: true,
      // Only app.asar is loaded, and (macOS, Windows) only if its hash is the one built in.
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      // The app is served from app://; file:// pages get no more than a browser gives them.
      grantFileProtocolExtraPrivileges: false,
      loadBrowserProcessSpecificV8Snapshot: false,
    });
    // onlyLoadAppFromAsar finds no app unless the app is packed into app.asar.
    expect(config.asar).not.toBe(false);
  });

  it('has the fuses checked by the schema too (a misspelt fuse is rejected)', async () => {
    const misspelt = { ...config, electronFuses: { ...config.electronFuses, runAsNod: false } } as Configuration;
    await expect(validateConfiguration(misspelt, new DebugLogger(false))).rejects.toThrow(/electronFuses/);
  });

  it('names the app and its directories', () => {
    expect(config.appId).toBe('org.pbftlab.app');
    expect(config.productName).toBe('PBFT Lab');
    expect(config.directories).toMatchObject({ buildResources: 'resources', output: 'release' });
  });

  it('ships the electron-vite output and package.json, whose main is in that output', () => {
    const patterns = (config.files as { filter: string[] }[]).flatMap((set) => set.filter);
    expect(patterns).toEqual(expect.arrayContaining(['out/**', 'package.json']));
    expect(packageJson.main).toMatch(/^out\//);
  });

  it('builds deb (recommended) and AppImage for Linux, NSIS for Windows, dmg for macOS (Apple silicon and Intel)', () => {
    expect(targetNames(config.linux?.target)).toEqual(['deb', 'AppImage']);
    expect(targetNames(config.win?.target)).toEqual(['nsis']);
    expect(targetNames(config.mac?.target)).toEqual(['dmg']);
    expect([config.mac?.target].flat()).toEqual([{ target: 'dmg', arch: ['arm64', 'x64'] }]);
  });

  it('gives the deb package a maintainer with an e-mail address and a desktop category', () => {
    expect(config.linux?.maintainer).toMatch(/^.+ <[^@\s]+@[^@\s]+>$/);
    expect(config.linux?.category).toBeTruthy();
  });

  it('uses a 512×512 PNG icon for Linux and macOS', () => {
    for (const icon of [config.linux?.icon, config.mac?.icon]) {
      expect(icon).toBe('resources/icon.png');
      expect(pngSize(readFileSync(join(projectDir, icon!)))).toEqual({ width: 512, height: 512 });
    }
  });

  it('uses a Windows icon with a 256×256 image, each image a PNG of its declared size', () => {
    expect(config.win?.icon).toBe('resources/icon.ico');
    const images = icoImages(readFileSync(join(projectDir, config.win!.icon!)));
    expect(images.map((image) => image.size)).toContain(256);
    for (const image of images) {
      expect(pngSize(image.data)).toEqual({ width: image.size, height: image.size });
    }
  });

  it('gives macOS the local-network keys: without them macOS 15+ silently blocks mDNS and LAN TCP', () => {
    const info = config.mac?.extendInfo as Record<string, unknown>;
    expect(info['NSLocalNetworkUsageDescription']).toMatch(/PBFT Lab .*lab machines/);
    // libp2p's discovery (its service tag, core/net/node.ts) and the cluster beacon's service.
    expect(info['NSBonjourServices']).toEqual([
      DEFAULT_MDNS_SERVICE_TAG.replace(/\.local$/, ''),
      BEACON_SERVICE.replace(/\.local$/, ''),
    ]);
  });

  it('has the macOS keys and the NSIS include checked by the schema too (a misspelt section key is rejected)', async () => {
    const { extendInfo, ...mac } = config.mac!;
    const misspeltMac = { ...config, mac: { ...mac, extendInfos: extendInfo } } as Configuration;
    await expect(validateConfiguration(misspeltMac, new DebugLogger(false))).rejects.toThrow(/configuration\.mac/);
    const { include, ...nsis } = config.nsis!;
    const misspeltNsis = { ...config, nsis: { ...nsis, includes: include } } as Configuration;
    await expect(validateConfiguration(misspeltNsis, new DebugLogger(false))).rejects.toThrow(/configuration\.nsis/);
  });

  it('adds a Windows firewall rule for the app from an assisted installer, and removes it on uninstall', () => {
    expect(config.nsis).toMatchObject({ oneClick: false, include: 'resources/installer.nsh' });
    expect(config.nsis?.perMachine ?? false).toBe(false); // the installer asks: all users (rule) or only me
    const script = readFileSync(join(projectDir, config.nsis!.include!), 'utf8');
    expect(script).toMatch(
      /!macro customInstall[\s\S]*netsh advfirewall firewall add rule name="\$\{PBFT_LAB_FIREWALL_RULE\}"[^\n]*dir=in action=allow program="\$INSTDIR\\\$\{APP_EXECUTABLE_FILENAME\}"[^\n]*profile=any/,
    );
    expect(script).toMatch(/!macro customUnInstall[\s\S]*netsh advfirewall firewall delete rule/);
  });

  it.skipIf(!existsSync(MAKENSIS))(
    `compiles the NSIS include with makensis, warnings as errors${existsSync(MAKENSIS) ? '' : ' (skipped: no makensis; apt-get install nsis)'}`,
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'pbft-lab-nsis-'));
      try {
        // The macros inside a minimal installer, with what electron-builder's template defines around them.
        const wrapper = [
          'Unicode true',
          '!include LogicLib.nsh',
          '!define APP_EXECUTABLE_FILENAME "PBFT Lab.exe"',
          'Name "PBFT Lab include check"',
          `OutFile "${join(dir, 'check.exe')}"`,
          'RequestExecutionLevel user',
          `!include "${join(projectDir, config.nsis!.include!)}"`,
          'Section',
          '  !insertmacro customInstall',
          '  WriteUninstaller "$INSTDIR\\uninstall.exe"',
          'SectionEnd',
          'Section "Uninstall"',
          '  !insertmacro customUnInstall',
          'SectionEnd',
        ].join('\n');
        writeFileSync(join(dir, 'check.nsi'), wrapper);
        execFileSync(MAKENSIS, ['-V2', '-WX', join(dir, 'check.nsi')], { stdio: 'pipe' });
        expect(existsSync(join(dir, 'check.exe'))).toBe(true);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});

describe('package.json, as the packaged app reads it', () => {
  it('names the product as electron-builder does: the installed app has its own user data (not npm start’s)', async () => {
    const config = await getConfig(projectDir, null, null);
    expect(packageJson.productName).toBe(config.productName);
  });

  it('ships no renderer packages: the dashboard is bundled, main and the lab process need none of them', () => {
    for (const name of ['vue', 'pinia', 'chart.js', '@vue/compiler-sfc', 'vite']) {
      expect(Object.keys(packageJson.dependencies), name).not.toContain(name);
    }
    expect(Object.keys(packageJson.devDependencies)).toEqual(expect.arrayContaining(['vue', 'pinia', 'chart.js']));
  });
});
