/* The small pieces of logic inside pages and components. */
import { describe, expect, it } from 'vitest';
import type { Host, Rule } from '../api/types';
import { taskBody } from '../components/CreateTask';
import { taskPercent } from '../components/TaskProgress';
import { pluginState } from './HostDetail';
import { matchesOs } from './Hosts';
import { safeNext } from './Login';
import { ruleMatches } from './Rules';
import { parseMatchLines } from './Whitelist';

describe('page helpers', () => {
  it('follows ?next= only inside the console', () => {
    expect(safeNext('/alerts?severity=high')).toBe('/alerts?severity=high');
    expect(safeNext('//evil.example/')).toBe('/');
    expect(safeNext('/\\evil.example')).toBe('/');
    expect(safeNext('https://evil.example/')).toBe('/');
    expect(safeNext(null)).toBe('/');
  });

  it('reads whitelist conditions written as field=value lines', () => {
    expect(parseMatchLines('exe=/usr/bin/backup\n\n argv = backup --nightly=1 \n')).toEqual({ exe: '/usr/bin/backup', argv: 'backup --nightly=1' });
    expect(parseMatchLines('no equals sign')).toBeNull();
    expect(parseMatchLines('=value')).toBeNull();
    expect(parseMatchLines('   ')).toBeNull();
  });

  it('builds task bodies with only the parameters of the task type', () => {
    expect(taskBody({ type: 'kill_process', target: 'hosts', hosts: ['a'], pid: 42, path: '/x' })).toEqual({ type: 'kill_process', hosts: ['a'], params: { pid: 42 } });
    expect(taskBody({ type: 'collect_now', target: 'tags', tags: ['web'], types: [] })).toEqual({ type: 'collect_now', tags: ['web'] });
    expect(taskBody({ type: 'scan', target: 'hosts', hosts: ['a', 'b'], path: '/tmp' })).toEqual({ type: 'scan', hosts: ['a', 'b'], params: { path: '/tmp' } });
  });

  it('computes task progress over finished hosts', () => {
    expect(taskPercent({ hosts: 4, counts: { pending: 1, sent: 1, succeed: 1, failed: 1, undeliverable: 0 } })).toBe(50);
    expect(taskPercent({ hosts: 0 })).toBe(0);
  });

  it('filters hosts by OS and rules by text', () => {
    const h = { agent_id: 'a', facts: { platform: 'ubuntu', platform_version: '22.04' } } as Host;
    expect(matchesOs(h, 'Ubuntu 22')).toBe(true);
    expect(matchesOs(h, 'debian')).toBe(false);
    expect(matchesOs({ agent_id: 'b' } as Host, 'debian')).toBe(false);
    const r = { id: 'reverse_shell_dev_tcp', name: 'Reverse shell', attack: ['T1059.004'], enabled: true } as Rule;
    expect(ruleMatches(r, 't1059')).toBe(true);
    expect(ruleMatches(r, 'mining')).toBe(false);
  });

  it('calls a plugin stale after three missed heartbeats', () => {
    expect(pluginState({ last_seen: 1000 }, true, 1000 + 30_000)).toBe('running');
    expect(pluginState({ last_seen: 1000 }, true, 1000 + 120_000)).toBe('stale');
    expect(pluginState({ last_seen: 1000 }, false, 1000)).toBe('unknown');
  });
});
