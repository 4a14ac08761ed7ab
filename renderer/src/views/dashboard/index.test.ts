// @vitest-environment happy-dom
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXCEED_F_MESSAGE } from '../../../../core/host/lab-api.ts';
import { useAppSetupStore } from '../../stores/app-setup.ts';
import { useConnectionStore } from '../../stores/connection.ts';
import { clockTime } from '../../stores/faulty-rows.ts';
import { useMessagesStore } from '../../stores/messages.ts';
import { useReplicaStore } from '../../stores/replica.ts';
import { FakeAppBridge } from '../../test-support/fake-app-bridge.ts';
import { FakeLabApi, PEER_IDS, fakeSnapshot, messageEvent } from '../../test-support/fake-lab-api.ts';
import DashboardView from './index.vue';

let api: FakeLabApi;
let wrapper: VueWrapper | null = null;

async function mountDashboard(): Promise<VueWrapper> {
  const pinia = createPinia();
  setActivePinia(pinia);
  useConnectionStore().attach(api, 'websocket');
  wrapper = mount(DashboardView, { global: { plugins: [pinia] } });
  await flushPromises();
  return wrapper;
}

const testid = (w: VueWrapper, id: string) => w.get(`[data-testid=${id}]`);

beforeEach(() => {
  api = new FakeLabApi();
  api.snapshotValue = fakeSnapshot({
    selfId: 2,
    view: 0,
    lastExecuted: 3,
    log: [
      { seq: 3, view: 0, digest: 'aa'.repeat(32), batchSize: 1, prepares: 2, commits: 3, phase: 'executed' },
      { seq: 4, view: 0, digest: 'bb'.repeat(32), batchSize: 2, prepares: 1, commits: 0, phase: 'pre-prepared' },
    ],
  });
});

afterEach(() => {
  wrapper?.unmount();
  wrapper = null;
});

describe('dashboard', () => {
  it('shows the cluster: roster by replica id, the primary, this machine', async () => {
    const w = await mountDashboard();
    expect(testid(w, 'cluster-role').text()).toBe('replica');
    expect(testid(w, 'self-replica-id').text()).toBe('2');
    const rows = w.findAll('[data-testid=roster-row]');
    expect(rows).toHaveLength(4);
    expect(rows[0]!.find('[data-testid=primary-badge]').exists()).toBe(true);
    expect(rows[2]!.text()).toContain('this machine');
    expect(testid(w, 'join-address').element.getAttribute('value')).toContain(PEER_IDS[2]);
    expect(testid(w, 'join-hint').text()).toContain('pbft-lab replica --join');
  });

  it('in the desktop app, says another machine joins from its start screen, not with pbft-lab replica (issue 17, finding 1)', async () => {
    const pinia = createPinia();
    setActivePinia(pinia);
    useAppSetupStore().attach(new FakeAppBridge());
    useConnectionStore().attach(api, 'electron');
    wrapper = mount(DashboardView, { global: { plugins: [pinia] } });
    await flushPromises();
    const hint = testid(wrapper, 'join-hint').text();
    expect(hint).toContain('start screen');
    expect(hint).toContain('Not listed?');
    expect(hint).not.toContain('pbft-lab replica');
  });

  it('revokes a client outside the roster after a second click, and shows it revoked (issue 13)', async () => {
    const client = '12D3KooWStudentLaptopClientQ';
    const base = api.snapshotValue;
    const peer = {
      peerId: client,
      replicaId: null,
      addresses: [],
      connected: true,
      lastHeardMsAgo: 5,
      disconnected: false,
    };
    api.snapshotValue = { ...base, peers: [...base.peers, peer] };
    const w = await mountDashboard();
    await testid(w, 'revoke-client').trigger('click');
    expect(api.callsOf('revokeClient')).toEqual([]);
    api.snapshotValue = { ...base, peers: [...base.peers, peer], revokedClients: [client] };
    await testid(w, 'revoke-confirm').trigger('click');
    await flushPromises();
    expect(api.callsOf('revokeClient')).toEqual([[client]]);
    expect(testid(w, 'revoked-badge').text()).toBe('revoked');
    expect(w.find('[data-testid=revoke-client]').exists()).toBe(false);
    expect(testid(w, 'revoked-clients').text()).toContain(client.slice(-8));
  });

  it('shows the join code with a copy button and a QR code (issue 13)', async () => {
    const base = api.snapshotValue;
    const joinCode = 'ABCD-EFGH-JKMN-PQRS-TVWX-YZ01-2345-6789-ABCD-EFGH-JKMN-PQRS-TVWX-YZ01';
    api.snapshotValue = { ...base, self: { ...base.self, clusterKey: { fingerprint: 'f1f2f3f4', joinCode } } };
    const w = await mountDashboard();
    expect(testid(w, 'join-code').element.getAttribute('value')).toBe(joinCode);
    expect(testid(w, 'join-code-block').text()).toContain('f1f2f3f4');
    expect(w.find('[data-testid=join-code-qr]').exists()).toBe(false);
    await testid(w, 'join-code-qr-toggle').trigger('click');
    const path = testid(w, 'join-code-qr').get('path').attributes('d');
    expect(path).toMatch(/^(M\d+ \d+h\d+v1h-\d+z)+$/);
  });

  it('shows no join code for a cluster run without a key', async () => {
    const w = await mountDashboard();
    expect(w.find('[data-testid=join-code-block]').exists()).toBe(false);
  });

  it('shows the log with phases and quorum counts, the view and the checkpoints', async () => {
    const w = await mountDashboard();
    const rows = w.findAll('[data-testid=log-row]');
    expect(rows.map((r) => r.attributes('data-phase'))).toEqual(['pre-prepared', 'executed']);
    expect(rows[0]!.text()).toContain('1/2f=2');
    expect(rows[1]!.text()).toContain('3/2f+1=3');
    expect(testid(w, 'view-number').text()).toBe('0');
    expect(testid(w, 'view-primary').text()).toBe('0');
    expect(testid(w, 'view-status').text()).toBe('normal');
    expect(testid(w, 'last-executed').text()).toBe('3');
    expect(testid(w, 'high-watermark').text()).toBe('256');
  });

  it('submits a client operation and shows the result with matching replies against f+1', async () => {
    const w = await mountDashboard();
    await testid(w, 'client-op-kind').setValue('write');
    await testid(w, 'client-path').setValue('/notes.txt');
    await testid(w, 'client-text').setValue('hello');
    await w.get('.op-form').trigger('submit');
    await flushPromises();
    // The file browser listed / when the dashboard opened; then the write, then / again.
    expect(api.callsOf('submit')).toEqual([
      [{ kind: 'list', dir: '/', readOnly: true }],
      [{ kind: 'write', path: '/notes.txt', text: 'hello' }],
      [{ kind: 'list', dir: '/', readOnly: true }],
    ]);
    expect(testid(w, 'client-result').text()).toContain('written: /notes.txt');
    expect(testid(w, 'client-matching').text()).toBe('3 replicas matched (f+1 = 2 needed)');
  });

  it('lists the files of the replicated file system, and opening one reads it', async () => {
    api.submitOutcome = (op) => ({
      timestamp: 1,
      result:
        op.kind === 'list'
          ? { kind: 'listing', dir: '/', entries: [{ path: '/a.txt', size: 2, version: 1, modifiedSeq: 4 }] }
          : { kind: 'data', stat: { path: '/a.txt', size: 2, version: 1, modifiedSeq: 4 }, text: 'hi', base64: 'aGk=' },
      matching: 2,
      latencyMs: 3,
    });
    const w = await mountDashboard();
    const entries = w.findAll('[data-testid=file-entry]');
    expect(entries.map((e) => e.attributes('data-path'))).toEqual(['/a.txt']);
    await entries[0]!.get('a').trigger('click');
    await flushPromises();
    expect(api.callsOf('submit').at(-1)).toEqual([{ kind: 'read', path: '/a.txt' }]);
    expect(testid(w, 'client-result').text()).toContain('/a.txt: hi');
  });

  it('makes the replica Byzantine from the catalogue and shows a red banner', async () => {
    const w = await mountDashboard();
    expect(w.find('[data-testid=byzantine-banner]').exists()).toBe(false);
    expect(w.findAll('[data-testid=behaviour-option]').map((o) => o.text())).toEqual(['Silent', 'Equivocate']);
    await testid(w, 'behaviour-select').setValue('silent');
    expect(testid(w, 'behaviour-info').text()).toContain('the backups time out');
    await testid(w, 'behaviour-apply').trigger('click');
    await flushPromises();
    expect(api.callsOf('setBehaviour')).toEqual([['silent']]);
    expect(testid(w, 'byzantine-banner').text()).toContain('This replica is Byzantine: Silent');
    await testid(w, 'behaviour-honest').trigger('click');
    await flushPromises();
    expect(w.find('[data-testid=byzantine-banner]').exists()).toBe(false);
  });

  it('pauses the replica and cuts a link from the Faults panel', async () => {
    const w = await mountDashboard();
    await testid(w, 'fault-pause').trigger('click');
    await testid(w, 'fault-link-1').trigger('change');
    await testid(w, 'fault-delay').setValue('150');
    await w.get('[data-testid=faults-panel] form').trigger('submit');
    await flushPromises();
    expect(api.callsOf('fault')).toEqual([
      [{ kind: 'pause' }],
      [{ kind: 'disconnect', peerId: PEER_IDS[1] }],
      [{ kind: 'delay', ms: 150 }],
    ]);
  });

  it('shows a paused replica and a cut link from the snapshot', async () => {
    api.snapshotValue = fakeSnapshot({ selfId: 2, faults: { paused: true, disconnectedFrom: [PEER_IDS[0]] } });
    const w = await mountDashboard();
    expect(w.find('[data-testid=paused-banner]').exists()).toBe(true);
    expect(w.find('[data-testid=fault-resume]').exists()).toBe(true);
    expect((testid(w, 'fault-link-0').element as HTMLInputElement).checked).toBe(true);
    expect(w.findAll('[data-testid=roster-row]')[0]!.text()).toContain('cut (fault)');
  });

  it('draws streamed messages as arrows in the diagram, and stops listening when closed', async () => {
    const w = await mountDashboard();
    expect(api.listeners.size).toBe(1);
    const at = api.snapshotValue.metrics.uptimeMs;
    api.emit(messageEvent(at - 100, 'out', 'all', 'pre-prepare'));
    api.emit(messageEvent(at - 50, 'in', 0, 'prepare'));
    useMessagesStore().flush();
    await flushPromises();
    const arrows = w.findAll('[data-testid=diagram-arrow]');
    // A broadcast from replica 2 fans out to 0, 1 and 3; the prepare comes in from 0.
    expect(arrows.map((a) => a.attributes('data-type'))).toEqual([
      'pre-prepare',
      'pre-prepare',
      'pre-prepare',
      'prepare',
    ]);
    w.unmount();
    wrapper = null;
    expect(api.listeners.size).toBe(0);
  });

  it('stops polling the snapshot once unmounted', async () => {
    const w = await mountDashboard();
    w.unmount();
    wrapper = null;
    const calls = api.callsOf('snapshot').length;
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(api.callsOf('snapshot').length).toBe(calls);
  });

  it('the file browser lists again when this replica executes something (issue 15, point 5)', async () => {
    const w = await mountDashboard();
    expect(api.callsOf('submit')).toHaveLength(1);
    expect(testid(w, 'file-browser-source').text()).toContain('read-only');
    api.snapshotValue = fakeSnapshot({ selfId: 2, view: 0, lastExecuted: 4 });
    await useReplicaStore().refresh();
    await flushPromises();
    expect(api.callsOf('submit')).toEqual([
      [{ kind: 'list', dir: '/', readOnly: true }],
      [{ kind: 'list', dir: '/', readOnly: true }],
    ]);
  });

  it('the Metrics charts fold away and say so (issue 15, point 10)', async () => {
    const w = await mountDashboard();
    const hidden = () => (testid(w, 'metrics-charts').attributes('style') ?? '').includes('display: none');
    expect(hidden()).toBe(false);
    await testid(w, 'metrics-toggle').trigger('click');
    expect(hidden()).toBe(true);
    expect(testid(w, 'metrics-toggle').text()).toBe('show charts');
    await testid(w, 'metrics-toggle').trigger('click');
    expect(hidden()).toBe(false);
  });

  it('after a stable checkpoint the Log keeps the executed rows, greyed, below the checkpoint line (issue 15, point 11)', async () => {
    const w = await mountDashboard();
    api.snapshotValue = fakeSnapshot({ selfId: 2, view: 0, stableSeq: 4, lastExecuted: 4, log: [] });
    await useReplicaStore().refresh();
    await flushPromises();
    expect(w.find('[data-testid=log-checkpoint-line]').text()).toContain('stable checkpoint n=4');
    expect(w.findAll('[data-testid=log-row-collected]').map((r) => r.attributes('data-seq'))).toEqual(['3']);
  });

  it('shows faulty so far against f, who and when, and asks in a dialog before a switch beyond f (issue 19)', async () => {
    const firstAt = Date.UTC(2026, 11, 7, 9, 30, 0);
    api.snapshotValue = fakeSnapshot({
      selfId: 2,
      histories: {
        0: [
          { n: 1, atMs: firstAt, behaviour: 'silent' },
          { n: 2, atMs: firstAt + 60_000, behaviour: null },
        ],
      },
    });
    const w = await mountDashboard();
    expect(testid(w, 'faulty-so-far').text()).toBe('faulty so far: 1 of f = 1');
    expect(testid(w, 'faulty-so-far-count').text()).toBe('faulty so far: 1 of f = 1');
    const rows = w.findAll('[data-testid=faulty-so-far-row]');
    expect(rows.map((r) => r.attributes('data-replica-id'))).toEqual(['0']);
    expect(rows[0]!.text()).toContain(`silent from ${clockTime(firstAt)} on its clock; honest again`);
    expect(testid(w, 'faulty-so-far-panel').text()).toContain('comes back with a new identity');
    expect(w.find('[data-testid=beyond-bound-banner]').exists()).toBe(false);

    // Replica 2 would be the second faulty replica of the run: a dialog, and nothing sent yet.
    await testid(w, 'behaviour-select').setValue('equivocate');
    await testid(w, 'behaviour-apply').trigger('click');
    await flushPromises();
    expect(testid(w, 'exceed-f-dialog').text()).toContain(EXCEED_F_MESSAGE);
    expect(testid(w, 'exceed-f-dialog').text()).toContain('Equivocate');
    expect(api.callsOf('setBehaviour')).toEqual([]);
    await testid(w, 'exceed-f-cancel').trigger('click');
    expect(w.find('[data-testid=exceed-f-dialog]').exists()).toBe(false);
    expect(api.callsOf('setBehaviour')).toEqual([]);

    await testid(w, 'behaviour-apply').trigger('click');
    await flushPromises();
    await testid(w, 'exceed-f-confirm').trigger('click');
    await flushPromises();
    expect(api.callsOf('setBehaviour')).toEqual([['equivocate', { exceedF: true }]]);
    expect(w.find('[data-testid=exceed-f-dialog]').exists()).toBe(false);
    expect(testid(w, 'faulty-so-far').text()).toBe('faulty so far: 2 of f = 1');
    expect(testid(w, 'beyond-bound-banner').text()).toContain('2 replicas have been Byzantine in this run, f = 1');
  });

  it('says what a wiped data directory means when a roster member has been silent (issue 19, finding 4)', async () => {
    const snapshot = fakeSnapshot({ selfId: 0 });
    api.snapshotValue = {
      ...snapshot,
      peers: [
        ...snapshot.peers.map((p) => (p.replicaId === 3 ? { ...p, connected: false, lastHeardMsAgo: 45_000 } : p)),
        {
          peerId: '12D3KooWStrangerWithANewIdentityxxxxxxxxxxxxxxxx',
          replicaId: null,
          addresses: [],
          connected: true,
          lastHeardMsAgo: 300,
          disconnected: false,
        },
      ],
    };
    const w = await mountDashboard();
    const notes = w.findAll('[data-testid=silent-member]');
    expect(notes).toHaveLength(1);
    expect(notes[0]!.text()).toContain('Replica 3 has been silent for 45 s');
    expect(notes[0]!.text()).toContain(
      'stays one of the f faulty replicas PBFT tolerates until the cluster is recreated',
    );
    expect(testid(w, 'silent-member-stranger').text()).toContain('…xxxxxxxx');
  });
  it('shows what this replica can tell about its peers, the truth about itself and its view-change history (issue 14)', async () => {
    api.snapshotValue = {
      ...api.snapshotValue,
      peerNotes: ['r0: no PRE-PREPARE for a request waiting 2.1 s', "r0's votes missing from the last 20 rows"],
      selfNotes: ['This replica is silent: it sends nothing, and the others moved on to view 1 without it.'],
      viewHistory: [
        { atMs: 12_300, view: 1, kind: 'started', text: 'moved to view 1: request timer expired' },
        { atMs: 12_900, view: 1, kind: 'installed', text: 'installed view 1 (primary r1)' },
      ],
    };
    const w = await mountDashboard();
    expect(w.findAll('[data-testid=peer-notes] li').map((li) => li.text())).toEqual([
      'r0: no PRE-PREPARE for a request waiting 2.1 s',
      "r0's votes missing from the last 20 rows",
    ]);
    expect(testid(w, 'self-notes-banner').text()).toContain('This replica is silent');
    const history = testid(w, 'view-history');
    expect(history.text()).toContain('view changes here (2, kept by the host)');
    expect(history.findAll('li').map((li) => li.text())).toEqual([
      '12.3 s moved to view 1: request timer expired',
      '12.9 s installed view 1 (primary r1)',
    ]);
  });
});
