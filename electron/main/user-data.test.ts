/** Where an instance keeps its user data, and so which lock it takes. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEVELOPMENT_USER_DATA_NAME, secondInstanceMessage, userDataDirFor } from './user-data.ts';

const appDataDir = '/home/student/.config';
const argv = ['/opt/PBFT Lab/pbft-lab'];

describe('userDataDirFor', () => {
  it('is Electron’s own for the installed app, and one of its own for npm start', () => {
    expect(userDataDirFor({ argv, isPackaged: true, appDataDir })).toBeNull();
    expect(userDataDirFor({ argv, isPackaged: false, appDataDir })).toBe(join(appDataDir, DEVELOPMENT_USER_DATA_NAME));
  });

  it('is --user-data-dir when given, relative to the working directory', () => {
    for (const isPackaged of [true, false]) {
      expect(userDataDirFor({ argv: [...argv, '--user-data-dir=/tmp/m1'], isPackaged, appDataDir })).toBe('/tmp/m1');
      expect(
        userDataDirFor({ argv: [...argv, '--user-data-dir', 'm2'], isPackaged, appDataDir, cwd: '/home/student' }),
      ).toBe('/home/student/m2');
    }
  });

  it('tells a second launch on the same user data what happened and how to run another instance', () => {
    expect(secondInstanceMessage('/tmp/m1')).toMatch(
      /already running with the user data in \/tmp\/m1.*--user-data-dir DIR/,
    );
  });
});
