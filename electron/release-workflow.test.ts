/**
 * The release workflow (.github/workflows/release.yml), checked offline: actionlint is a Go binary
 * that is not on npm, so the workflow is validated against GitHub Actions' workflow schema (vendored
 * from SchemaStore: test/schemas/) with ajv, plus the rules below that the schema cannot express and
 * a broken release would trip on: actions pinned to a version, jobs that exist, matrix keys that
 * exist, scripts and files that exist, the Node the project uses, every platform packaged with the
 * targets electron-builder.yml names and smoke-tested (Linux under xvfb).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import { parse } from 'yaml';
import { getConfig } from 'app-builder-lib/out/util/config/config.js';
import { beforeAll, describe, expect, it } from 'vitest';

const projectDir = join(import.meta.dirname, '..');
const workflowsDir = join(projectDir, '.github', 'workflows');
const schema = JSON.parse(readFileSync(join(projectDir, 'test', 'schemas', 'github-workflow.json'), 'utf8')) as object;
const packageJson = JSON.parse(readFileSync(join(projectDir, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
  devDependencies: Record<string, string>;
};

type Step = { name?: string; uses?: string; run?: string; if?: string; with?: Record<string, unknown>; shell?: string };
type Job = {
  needs?: string | string[];
  'runs-on': string;
  strategy?: { matrix?: Record<string, unknown> & { include?: Record<string, unknown>[] } };
  steps: Step[];
};
type Workflow = { on: unknown; jobs: Record<string, Job> };

function validator() {
  // Draft-07, as the schema says; its $refs carry sibling keywords that draft-07 ignores (so does ajv).
  const ajv = new Ajv({ allErrors: true, unknownFormats: 'ignore', extendRefs: 'ignore', logger: false });
  return ajv.compile(schema);
}

function readWorkflow(file: string): Workflow {
  return parse(readFileSync(join(workflowsDir, file), 'utf8')) as Workflow;
}

/** `${{ matrix.key }}` references in any string of a job. */
function matrixReferences(value: unknown): string[] {
  const text = JSON.stringify(value);
  return [...text.matchAll(/\$\{\{\s*matrix\.([\w-]+)/g)].map((m) => m[1]!);
}

const workflows = readdirSync(workflowsDir).filter((f) => /\.ya?ml$/.test(f));

describe('the workflows, against the GitHub Actions workflow schema', () => {
  const validate = validator();

  it.each(workflows)('%s is valid', (file) => {
    const valid = validate(readWorkflow(file));
    expect(valid ? [] : validate.errors?.map((e) => `${e.dataPath} ${e.message}`)).toEqual([]);
  });

  it('rejects a broken workflow (the check is live)', () => {
    const workflow = readWorkflow('release.yml');
    const broken = { ...workflow, jobs: { package: { ...workflow.jobs['package'], stepz: [] } } };
    expect(validate(broken)).toBe(false);
    const noRunner = { ...workflow, jobs: { package: { steps: workflow.jobs['package']!.steps } } };
    expect(validate(noRunner)).toBe(false);
  });
});

describe.each(workflows)('%s, by the rules the schema cannot check', (file) => {
  const workflow = readWorkflow(file);
  const jobs = Object.entries(workflow.jobs);
  const steps = jobs.flatMap(([, job]) => job.steps);

  it('pins every action to a version tag or a commit', () => {
    for (const step of steps.filter((s) => s.uses)) {
      expect(step.uses, step.uses).toMatch(/^[\w.-]+\/[\w.-]+(\/[\w./-]+)?@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$/);
    }
  });

  it('needs only jobs that exist', () => {
    for (const [, job] of jobs) {
      for (const need of [job.needs ?? []].flat()) expect(Object.keys(workflow.jobs)).toContain(need);
    }
  });

  it('uses only matrix keys its job defines', () => {
    for (const [name, job] of jobs) {
      const matrix = job.strategy?.matrix ?? {};
      const keys = new Set([
        ...Object.keys(matrix).filter((k) => k !== 'include' && k !== 'exclude'),
        ...(matrix.include ?? []).flatMap((entry) => Object.keys(entry)),
      ]);
      for (const key of matrixReferences(job)) expect([...keys], `${name}: matrix.${key}`).toContain(key);
    }
  });

  it('runs only npm scripts and project files that exist', () => {
    const runs = steps.flatMap((s) => (s.run ? [s.run] : []));
    for (const script of runs.flatMap((r) => [...r.matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1]!))) {
      expect(Object.keys(packageJson.scripts)).toContain(script);
    }
    for (const path of runs.flatMap((r) =>
      [...r.matchAll(/node ((?:electron|bin|core)\/[\w./-]+)/g)].map((m) => m[1]!),
    )) {
      expect(existsSync(join(projectDir, path)), path).toBe(true);
    }
  });
});

describe('release.yml', () => {
  const workflow = readWorkflow('release.yml');
  const packaging = workflow.jobs['package']!;
  const include = packaging.strategy!.matrix!.include!;
  let builderTargets: Record<string, string[]>;

  beforeAll(async () => {
    const config = await getConfig(projectDir, null, null);
    const names = (target: unknown): string[] =>
      [target].flat().map((t) => (typeof t === 'string' ? t : (t as { target: string }).target));
    builderTargets = {
      linux: names(config.linux?.target),
      win: names(config.win?.target),
      mac: names(config.mac?.target),
    };
  });

  it('packages on Linux, Windows and macOS, each with the targets electron-builder.yml names', () => {
    const byPlatform = Object.fromEntries(
      include.map((entry) => {
        const [flag, ...targets] = String(entry['targets']).split(/\s+/);
        return [flag!.replace(/^--/, ''), targets];
      }),
    );
    expect(byPlatform).toEqual(builderTargets);
    expect(include.map((e) => String(e['os']).split('-')[0]).sort()).toEqual(['macos', 'ubuntu', 'windows']);
  });

  it('uses the Node this project runs on (the `node` devDependency’s major)', () => {
    const setupNode = packaging.steps.find((s) => s.uses?.startsWith('actions/setup-node@'));
    const major = /\d+/.exec(packageJson.devDependencies['node']!)![0];
    expect(String(setupNode?.with?.['node-version'])).toBe(major);
  });

  it('builds with npm run build and packages without publishing', () => {
    const runs = packaging.steps.map((s) => s.run ?? '');
    expect(runs).toContain('npm ci');
    expect(runs).toContain('npm run build');
    expect(runs.some((r) => /npx electron-builder \$\{\{ matrix\.targets \}\} --publish never/.test(r))).toBe(true);
  });

  it('smoke-tests the packaged app on every platform: on Linux the installed deb under xvfb', () => {
    const smoke = (os: string): Step | undefined =>
      packaging.steps.find((s) => s.if === `runner.os == '${os}'` && s.run?.includes('electron/smoke-packaged.mjs'));
    expect(smoke('Linux')?.run).toMatch(/apt-get install -y xvfb \.\/release\/pbft-lab_\*_amd64\.deb/);
    expect(smoke('Linux')?.run).toMatch(/xvfb-run --auto-servernum node electron\/smoke-packaged\.mjs .*-- pbft-lab/);
    expect(smoke('Windows')?.run).toMatch(/netsh advfirewall firewall show rule name="PBFT Lab"/);
    expect(smoke('macOS')?.run).toMatch(/PlistBuddy -c 'Print :NSBonjourServices'/);
    // The runner is Apple silicon: its own app, not the Intel one under Rosetta.
    expect(smoke('macOS')?.run).toContain('app="release/mac-arm64/PBFT Lab.app"');
  });

  it('drafts the release only for a version tag, with write access for that job alone', () => {
    expect(workflow.on).toMatchObject({ push: { tags: ['v*'] } });
    expect((workflow as unknown as { permissions: unknown }).permissions).toEqual({ contents: 'read' });
    const release = workflow.jobs['release'] as Job & { if: string; permissions: unknown };
    expect(release.if).toBe("startsWith(github.ref, 'refs/tags/v')");
    expect(release.permissions).toEqual({ contents: 'write' });
  });
});
